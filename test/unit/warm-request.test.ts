import { commandWord, parseRequest, refusal } from '../../src/warm/request';

// The worker's reading of a launcher's request (cpp/common/warm_protocol.h) and its policy.

const body = (parts: string[]) => Buffer.from(parts.join('\0') + '\0');

describe('parseRequest', () => {
  test('build id, cwd, umask, fd record, arguments and environment', () => {
    expect(parseRequest(body(['b1', '/work', '27', '812:3,5-7', '3', '--root', '/r', 'state', 'A=1', 'B=x=y', 'A=2', 'NOEQ']))).toEqual({
      buildId: 'b1',
      cwd: '/work',
      umask: 0o27,
      fdRecord: '812:3,5-7',
      args: ['--root', '/r', 'state'],
      env: { A: '1', B: 'x=y' }, // the first of a duplicated name, as getenv finds it; no '=': dropped
    });
  });

  test('malformed requests', () => {
    expect(parseRequest(Buffer.from('b1\0/\0'))).toBe('malformed request');
    expect(parseRequest(Buffer.from(['b1', '/', '22', '1:', '1', 'state'].join('\0')))).toBe('malformed request'); // no final NUL
    expect(parseRequest(body(['b1', '/', '99', '1:', '0']))).toBe('malformed request'); // umask not octal
    expect(parseRequest(body(['b1', '/', '22', '1:', '5', 'state']))).toBe('malformed request'); // argc too large
  });
});

describe('commandWord', () => {
  test.each([
    [['state', 'x'], 'state'],
    [['--root', '/r', '--debug', 'run', 'x'], 'run'],
    [['--log=/l', '--log-format', 'json', 'warm', 'start'], 'warm'],
    [['--rootless', 'true', 'checkpoint'], 'checkpoint'],
    [['--version'], ''],
  ])('%j -> %s', (args, word) => expect(commandWord(args)).toBe(word));
});

describe('refusal', () => {
  const me = { pid: process.pid, uid: process.geteuid!() };
  const request = (args: string[], env: Record<string, string> = {}) => ({ buildId: 'b1', cwd: '/', umask: 0o22, fdRecord: '', args, env });

  test('this very process asking for a served command: served', () => {
    expect(refusal(request(['state', 'x'], process.env as Record<string, string>), me, 'b1')).toBeUndefined();
  });

  test('other uid, other build, a pid outside our namespace, a command never served warm, a variable read at load', () => {
    expect(refusal(request(['state']), { ...me, uid: me.uid + 1 }, 'b1')).toBe(`caller uid ${me.uid + 1} is not ours`);
    expect(refusal(request(['state']), me, 'b2')).toBe('build mismatch (caller b1, worker b2)');
    expect(refusal(request(['state']), { ...me, pid: 0 }, 'b1')).toBe('caller in another pid namespace');
    expect(refusal(request(['restore', 'x'], process.env as Record<string, string>), me, 'b1')).toBe('command restore is not served warm');
    expect(refusal(request(['state'], { ...(process.env as Record<string, string>), TSOCI_TRACE: '1' }), me, 'b1')).toBe("TSOCI_TRACE differs from the worker's");
  });
});
