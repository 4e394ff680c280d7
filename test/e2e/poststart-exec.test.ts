import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { settledDiff, snapshot } from '../helpers/leaks';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT, TSOCI } from '../helpers/tsoci';

// config.md: poststart hooks run "after the user-specified process is executed". `start`
// returns (and runs them) only once the process has been execve()d: the init's end of the
// exec fifo is close-on-exec, and start waits for EOF after its byte. Found by
// runtime-tools' poststart program: with its seccomp profile (which denies close_range)
// the init closed fds one by one up to 65536 under the filter, and the hook ran first.

/** runtime-tools' profile denies close_range (too new for it): EPERM, like theirs. */
function denyCloseRange(spec: Record<string, any>, noNewPrivileges: boolean): Record<string, any> {
  spec.process.noNewPrivileges = noNewPrivileges;
  spec.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names: ['close_range'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
  return spec;
}

const fdsOf = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);
const exeOf = (pid: number) => fs.readlinkSync(`/proc/${pid}/exe`);

let work: string;
const bundles: string[] = [];
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-out-poststart-'));
});
afterEach(() => deleteAll());
afterAll(() => {
  for (const b of bundles) removeBundle(b);
  fs.rmSync(work, { recursive: true, force: true });
});

function bundle(spec: Record<string, any>): string {
  const b = makeBundle(spec);
  bundles.push(b);
  return b;
}

describe.each([false, true])('seccomp denies close_range (noNewPrivileges %s)', (nnp) => {
  test('start returns once the process is executed; it holds only 0-2', () => {
    const b = bundle(denyCloseRange(testSpec(['sleep', '600']), nnp));
    const before = snapshot(TEST_ROOT);
    for (let i = 0; i < 3; i++) {
      const id = uniqueId('execd');
      expect(tsoci(['create', '--bundle', b, id]).status).toBe(0);
      const pid = stateOf(id).pid;
      expect(exeOf(pid)).toMatch(/^\/memfd:tsoci-init/);
      const r = tsoci(['start', id]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(exeOf(pid)).toBe('/bin/busybox'); // (as its own mount namespace has it)
      expect(fdsOf(pid)).toEqual([0, 1, 2]);
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
    }
    expect(settledDiff(before, TEST_ROOT, { mentioning: [b] })).toEqual([]);
  });

  test('an fd tsoci inherited above 16 (not close-on-exec in node) does not reach the process; --preserve-fds still works', () => {
    const b = bundle(denyCloseRange(testSpec(['sleep', '600']), nnp));
    const file = path.join(work, `fd-${nnp}`);
    fs.writeFileSync(file, 'x');
    const fd = fs.openSync(file, 'r');
    try {
      for (const preserve of [0, 1]) {
        const id = uniqueId('fdleak');
        // fd 3 (preserved or not) and fd 20
        const stdio: (number | 'ignore')[] = ['ignore', 'ignore', 'ignore', fd, ...Array(16).fill('ignore'), fd];
        const r = spawnSync(TSOCI, ['--root', TEST_ROOT, 'run', '-d', '--preserve-fds', String(preserve), '--bundle', b, id], { stdio });
        expect(r.status).toBe(0);
        expect(fdsOf(stateOf(id).pid)).toEqual(preserve ? [0, 1, 2, 3] : [0, 1, 2]);
      }
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('poststart hooks see the executed process', () => {
  /** a host-side hook logging the executable of the pid in the state on its stdin */
  function exeLogHook(log: string) {
    const script = `pid=$(sed 's/.*"pid":\\([0-9]*\\).*/\\1/'); readlink /proc/$pid/exe >> ${log}`;
    return { path: '/bin/sh', args: ['sh', '-c', script] };
  }

  test.each(['start', 'run -d'])('%s', (how) => {
    const log = path.join(work, `exe-${how.replace(/\W/g, '')}`);
    const spec = denyCloseRange(testSpec(['sleep', '600']), false);
    spec.hooks = { poststart: [exeLogHook(log)] };
    const b = bundle(spec);
    for (let i = 0; i < 3; i++) {
      const id = uniqueId('pstexe');
      if (how === 'start') {
        expect(tsoci(['create', '--bundle', b, id]).status).toBe(0);
        expect(tsoci(['start', id]).status).toBe(0);
      } else {
        expect(tsoci(['run', '-d', '--bundle', b, id]).status).toBe(0);
      }
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
    }
    expect(fs.readFileSync(log, 'utf8')).toBe('/bin/busybox\n'.repeat(3)); // not /memfd:tsoci-init
  });

  test('a process that exits at once: start still returns, the hook runs', () => {
    const log = path.join(work, 'exe-true');
    const spec = testSpec(['true']);
    spec.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `echo ran >> ${log}`] }] };
    const b = bundle(spec);
    const id = uniqueId('psttrue');
    expect(tsoci(['create', '--bundle', b, id]).status).toBe(0);
    const r = tsoci(['start', id]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toBe('ran\n');
  });

  test('a process whose execve fails: start returns without waiting for anything', () => {
    const spec = testSpec(['/bin/sh', '-c', 'true']);
    const b = bundle(spec);
    const id = uniqueId('pstnoexec');
    expect(tsoci(['create', '--bundle', b, id]).status).toBe(0);
    fs.rmSync(path.join(b, 'rootfs/bin/sh')); // found at create, gone at start
    const t0 = Date.now();
    tsoci(['start', id]);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(stateOf(id).status).toBe('stopped');
  });
});
