import { separateExecCommand } from '../../src/cli/exec';

// runc's rule for `exec [flags] <id> <command...>`: flags stop at the id.
describe('separateExecCommand', () => {
  test.each([
    [['exec', 'c1', 'ps', '-e'], ['exec', 'c1', '--', 'ps', '-e']],
    [['--root', '/r', '--log-format=json', 'exec', '-t', '-e', 'A=1', '--cwd', '/tmp', 'c1', 'sh', '-c', 'ls -l'],
      ['--root', '/r', '--log-format=json', 'exec', '-t', '-e', 'A=1', '--cwd', '/tmp', 'c1', '--', 'sh', '-c', 'ls -l']],
    // conmon and containerd: everything in --process, nothing after the id
    [['--log', 'l', 'exec', '--pid-file', 'p', '--process', 'f', '--detach', 'c1'], ['--log', 'l', 'exec', '--pid-file', 'p', '--process', 'f', '--detach', 'c1']],
    [['exec', 'c1', '--', 'true'], ['exec', 'c1', '--', 'true']],
    [['state', 'c1'], ['state', 'c1']],
    [['--debug', 'exec', '--cap=CAP_KILL', 'c1', 'id'], ['--debug', 'exec', '--cap=CAP_KILL', 'c1', '--', 'id']],
  ])('%j', (argv, want) => {
    expect(separateExecCommand(argv)).toEqual(want);
  });
});
