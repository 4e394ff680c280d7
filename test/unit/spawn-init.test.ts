import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { native, errnoName } from '../../src/native';

// The addon's spawnInit starts tsoci-init (launch.ts); here it starts small shell scripts that
// report what they were given on their sync socket, the way tsoci-init would find it.
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-spawn-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  fs.closeSync(fd);
  return Buffer.concat(chunks).toString();
}

function spawnOk(file: string, env: string[], preserve = 0): { pid: number; fd: number } {
  const r = native().spawnInit(file, 'tsoci-init', env, preserve);
  if ('errno' in r) throw new Error(`spawnInit: ${r.step}: ${errnoName(r.errno)}`);
  return r;
}

describe('spawnInit', () => {
  test('the child has fds 0-2 and its sync socket at 3+preserveFds; what Node opened stays behind', () => {
    const mine = fs.openSync(__filename, 'r'); // Node opens close-on-exec
    try {
      const s = script('fds.sh', 'ls /proc/self/fd >&3; readlink /proc/self/fd/3 >&3; echo "env:$TSOCI_SYNC_FD" >&3');
      const { pid, fd } = spawnOk(s, ['TSOCI_SYNC_FD=3', 'PATH=/usr/bin:/bin']);
      const out = readAll(fd);
      expect(native().waitChildSync(pid)).toEqual({ code: 0, signal: null });
      const fds = out.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
      expect(fds.filter((n) => n <= 3)).toEqual([0, 1, 2, 3]);
      expect(fds).not.toContain(mine);
      expect(out).toMatch(/^socket:/m);
      expect(out).toContain('env:3');
    } finally {
      fs.closeSync(mine);
    }
  });

  test('preserved fds pass through even though Node opened them close-on-exec', () => {
    // open files until one lands above 3, then preserve up to it (dash redirects only fds 0-9:
    // the answer is the exit status)
    const opened: number[] = [];
    try {
      for (let i = 0; i < 3; i++) opened.push(fs.openSync(__filename, 'r'));
      const top = Math.max(...opened);
      const s = script('preserved.sh', `[ -e /proc/self/fd/${top} ] && [ -e /proc/self/fd/${top + 1} ] || exit 1`);
      const { pid, fd } = spawnOk(s, ['PATH=/usr/bin:/bin'], top - 2);
      fs.closeSync(fd);
      expect(native().waitChildSync(pid)).toEqual({ code: 0, signal: null });
    } finally {
      for (const f of opened) fs.closeSync(f);
    }
  });

  test('signals: empty mask, nothing ignored but glibc\'s internal 32/33 (tsoci-init resets those itself)', () => {
    const s = script('sig.sh', 'grep -E "^Sig(Blk|Ign)" /proc/self/status >&3');
    const { pid, fd } = spawnOk(s, ['PATH=/usr/bin:/bin']);
    const lines = readAll(fd);
    native().waitChildSync(pid);
    const blk = BigInt('0x' + /SigBlk:\s*([0-9a-f]+)/.exec(lines)![1]);
    const ign = BigInt('0x' + /SigIgn:\s*([0-9a-f]+)/.exec(lines)![1]);
    expect(blk).toBe(0n);
    expect(ign & ~0x180000000n).toBe(0n);
  });

  test('waitChild and waitChildSync report exit codes and killing signals', async () => {
    const exit3 = spawnOk(script('exit3.sh', 'exit 3'), []);
    fs.closeSync(exit3.fd);
    await expect(native().waitChild(exit3.pid)).resolves.toEqual({ code: 3, signal: null });
    const killed = spawnOk(script('term.sh', 'kill -TERM $$; sleep 5'), ['PATH=/usr/bin:/bin']);
    fs.closeSync(killed.fd);
    expect(native().waitChildSync(killed.pid)).toEqual({ code: null, signal: 15 });
    // nothing left to wait for: an errno, not a hang
    expect(native().waitChildSync(killed.pid)).toEqual({ errno: 10, step: 'waitpid' });
  });

  test('a missing or non-executable binary is an errno with the step, and no child', () => {
    expect(native().spawnInit(path.join(dir, 'missing'), 'tsoci-init', [], 0)).toEqual({ errno: 2, step: 'spawn' });
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, 'not a program', { mode: 0o644 });
    expect(native().spawnInit(plain, 'tsoci-init', [], 0)).toEqual({ errno: 13, step: 'spawn' });
    expect(native().waitChildSync(-1)).toEqual({ errno: 10, step: 'waitpid' }); // ECHILD: no zombie either
  });
});
