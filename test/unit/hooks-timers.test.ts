import { runHooks } from '../../src/container/hooks';

// A hook's run leaves no timer behind: one left armed kept every command with hooks (docker
// adds one to each container) alive for 200 ms after its work was done.
const realSetTimeout = global.setTimeout;
let made: NodeJS.Timeout[] = [];
beforeEach(() => {
  made = [];
  jest.spyOn(global, 'setTimeout').mockImplementation(((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = realSetTimeout(fn, ms, ...args);
    made.push(t);
    return t;
  }) as unknown as typeof setTimeout);
});
afterEach(() => jest.restoreAllMocks());

/** timers the hooks armed that have neither fired nor been cleared (Node marks both _destroyed) */
const pending = () => made.filter((t) => !(t as unknown as { _destroyed: boolean })._destroyed).length;

describe('runHooks', () => {
  test('leaves no timer running once the hooks are done, with or without a timeout', async () => {
    await runHooks('prestart', [{ path: '/bin/true' }, { path: '/bin/sh', args: ['sh', '-c', 'cat >/dev/null'], timeout: 5 }], { ociVersion: '1.3.0', id: 'x' });
    expect(made.length).toBeGreaterThan(0); // the hook timeout's at least
    expect(pending()).toBe(0);
  });

  test('leaves no timer running when a hook fails', async () => {
    await expect(runHooks('createRuntime', [{ path: '/bin/false' }], { id: 'x' })).rejects.toThrow(/error running createRuntime hook #0: exit status 1/);
    expect(pending()).toBe(0);
  });
});
