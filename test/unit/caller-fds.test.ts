import { parseCallerFds, takeCallerFdRecord } from '../../src/fds/caller-fds';

// The launcher's record of the fds its caller passed: TSOCI_CALLER_FDS=<pid>:<ranges>.
describe('parseCallerFds', () => {
  test('ranges and single fds', () => {
    expect([...parseCallerFds('42:3,5-7,10', 42)!]).toEqual([3, 5, 6, 7, 10]);
  });
  test('no fds passed', () => {
    expect(parseCallerFds('42:', 42)!.size).toBe(0);
  });
  test('another pid (a stale export, or a child that inherited it): not ours', () => {
    expect(parseCallerFds('41:3-9', 42)).toBeNull();
  });
  test.each(['', '42', '42:3,', '42:a', '42:5-3', ':3', '42:3-9999999', '42:3;4'])('malformed %p: no record', (v) => {
    expect(parseCallerFds(v, 42)).toBeNull();
  });
  test('absent', () => {
    expect(parseCallerFds(undefined, 42)).toBeNull();
  });
});

test('takeCallerFdRecord removes the record from the environment', () => {
  const env: NodeJS.ProcessEnv = { TSOCI_CALLER_FDS: `${process.pid}:3`, OTHER: 'x' };
  takeCallerFdRecord(env, process.pid);
  expect(env).toEqual({ OTHER: 'x' });
});
