import type { CommandModule } from 'yargs';
import { globalOptions, runCommand, withId, type GlobalArgs } from './common';

export const startCommand: CommandModule<GlobalArgs, GlobalArgs & { id: string }> = {
  command: 'start <id>',
  describe: 'run the user-specified process of a created container',
  builder: (y) => withId(y),
  handler: (argv) =>
    runCommand(async () => {
      const { start } = await import('../container/start');
      const { runHooks } = await import('../container/hooks');
      const { openContainer } = await import('../state/store');
      const opts = { ...globalOptions(argv), id: argv.id };
      start(opts);
      await runPoststart(opts.root, argv.id, runHooks, openContainer);
    }),
};

/** poststart hooks run after the process was started; a failure makes `start` fail (spec 1.3). */
async function runPoststart(
  root: string,
  id: string,
  runHooks: typeof import('../container/hooks').runHooks,
  openContainer: typeof import('../state/store').openContainer,
): Promise<void> {
  const { cdir, state } = openContainer(root, id);
  if (!state.hasSpecCopy) return;
  const fs = await import('fs');
  const spec = JSON.parse(fs.readFileSync(cdir.specPath, 'utf8'));
  const hooks = spec.hooks?.poststart;
  if (!hooks?.length) return;
  const hookState = { ociVersion: state.ociVersion, id, status: 'running', pid: state.pid, bundle: state.bundle, annotations: state.annotations ?? {} };
  await runHooks('poststart', hooks, hookState);
}
