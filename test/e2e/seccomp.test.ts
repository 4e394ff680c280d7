import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, tsociAsync, uniqueId, REPO, TEST_ROOT, type Result } from '../helpers/tsoci';

// seccomp profiles compiled by the runtime (libseccomp in the addon), loaded by tsoci-init.
const MKDIR = ['mkdir', 'mkdirat'];
const CACHE = path.join(TEST_ROOT, '.seccomp-cache');

function allowAllBut(rules: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: rules, ...extra };
}

function run(seccomp: unknown, args: string[], edit: (spec: Record<string, any>) => void = () => undefined, env?: NodeJS.ProcessEnv): Result & { id: string } {
  const spec = testSpec(args);
  spec.linux.seccomp = seccomp;
  edit(spec);
  const bundle = makeBundle(spec);
  try {
    const id = uniqueId('sc');
    return { ...tsoci(['run', '--bundle', bundle, id], { env }), id };
  } finally {
    removeBundle(bundle);
  }
}

function waitFor(cond: () => boolean, timeoutMs = 10000): void {
  const end = Date.now() + timeoutMs;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    Atomics.wait(sleeper, 0, 0, 20);
  }
}

/** Nothing of container `id` remains: no state dir, no cgroup dir, no init process. */
function expectNothingLeft(id: string): void {
  expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
  const cgroups: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 5) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name.includes(id)) cgroups.push(path.join(dir, e.name));
      walk(path.join(dir, e.name), depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  expect(cgroups).toEqual([]);
  // other suites may run on this host: only processes in this container's cgroups count
  const inits = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id);
    } catch {
      return false;
    }
  });
  expect(inits).toEqual([]);
}

afterEach(() => deleteAll());

/** A cache file: u32 key length, the key, then the filter (whole 8-byte sock_filters). */
function filterBytes(file: string): number {
  const data = fs.readFileSync(file);
  const bytes = data.length - 4 - data.readUInt32LE(0);
  expect(bytes).toBeGreaterThan(0);
  return bytes;
}

describe('seccomp actions', () => {
  test('ERRNO (default EPERM) on mkdir: mkdir fails inside, everything else works', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }]), ['sh', '-c', 'mkdir /tmp/x; echo rc=$?; echo hello > /tmp/f; cat /tmp/f; ls -d /tmp/x || echo no-dir']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('rc=1\nhello\nno-dir\n');
    expect(r.stderr).toContain('Operation not permitted');
  });

  test('ERRNO with errnoRet returns that errno; defaultErrnoRet applies to the default action', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_ERRNO', errnoRet: 28 }]), ['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
    expect(r.stdout).toBe('rc=1\n');
    expect(r.stderr).toContain('No space left on device');
    // default ERRNO(ENOTBLK) with an allow list big enough for busybox
    const podman = JSON.parse(fs.readFileSync(path.join(REPO, 'bench/podman-seccomp.json'), 'utf8'));
    podman.defaultErrnoRet = 15;
    podman.syscalls = podman.syscalls.filter((s: any) => s.action === 'SCMP_ACT_ALLOW').map((s: any) => ({ ...s, names: s.names.filter((n: string) => !MKDIR.includes(n)) }));
    const d = run(podman, ['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
    expect(d.stdout).toBe('rc=1\n');
    expect(d.stderr).toContain('Block device required');
  });

  test('argument conditions: kill(pid, SIGUSR1) refused, kill(pid, 0) allowed; personality(PER_LINUX32) refused', () => {
    const profile = allowAllBut([
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 10, op: 'SCMP_CMP_EQ' }] },
      { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    ]);
    const r = run(profile, ['sh', '-c', 'trap "" USR1; kill -USR1 $$; echo usr1=$?; kill -0 $$; echo zero=$?; /bin/busybox linux64 true; echo linux64=$?; /bin/busybox linux32 true; echo linux32=$?']);
    expect(r.stdout).toBe('usr1=1\nzero=0\nlinux64=0\nlinux32=1\n');
    expect(r.stderr).toContain('Invalid argument');
  });

  test('operators: MASKED_EQ; one index twice → separate rules (OR, like runc); two indexes → one rule (AND)', () => {
    const profile = allowAllBut([
      // signals with bit 3 set (8-15): USR1 = 10 refused, INT = 2 and QUIT = 3 not
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 0x8, valueTwo: 0x8, op: 'SCMP_CMP_MASKED_EQ' }] },
      // sig > 30 OR sig == 1: HUP refused
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 30, op: 'SCMP_CMP_GT' }, { index: 1, value: 1, op: 'SCMP_CMP_EQ' }] },
      // sig == QUIT AND pid == 999999: QUIT to $$ allowed
      { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 3, op: 'SCMP_CMP_EQ' }, { index: 0, value: 999999, op: 'SCMP_CMP_EQ' }] },
    ]);
    const r = run(profile, ['sh', '-c', 'trap "" USR1 INT HUP QUIT; for s in USR1 INT HUP QUIT 0; do kill -$s $$; echo $s=$?; done']);
    expect(r.stdout).toBe('USR1=1\nINT=0\nHUP=1\nQUIT=0\n0=0\n');
  });

  test('KILL_PROCESS kills with SIGSYS: 128+31 as the container process, 159 for a child', () => {
    const profile = allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_KILL_PROCESS' }]);
    expect(run(profile, ['mkdir', '/tmp/x']).status).toBe(159);
    const r = run(profile, ['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
    expect(r.stdout).toBe('rc=159\n');
  });

  test('KILL and KILL_THREAD kill the (single-threaded) process with SIGSYS', () => {
    for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD']) {
      const r = run(allowAllBut([{ names: MKDIR, action }]), ['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
      expect(r.stdout).toBe('rc=159\n');
    }
  });

  test('TRAP delivers SIGSYS (default disposition: the process dies of it)', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_TRAP' }]), ['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
    expect(r.stdout).toBe('rc=159\n');
  });

  test('TRACE without a tracer fails the syscall with ENOSYS', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_TRACE' }]), ['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
    expect(r.stdout).toBe('rc=1\n');
    expect(r.stderr).toContain('Function not implemented');
  });

  test('LOG and ALLOW let the syscall through', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_LOG' }, { names: ['getpid'], action: 'SCMP_ACT_ALLOW' }]), ['sh', '-c', 'mkdir /tmp/x && ls -d /tmp/x']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('/tmp/x\n');
  });

  test('flags: LOG and SPEC_ALLOW are accepted by the loader; flags [] too', () => {
    for (const flags of [['SECCOMP_FILTER_FLAG_LOG'], ['SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'], []]) {
      const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }], { flags }), ['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
      expect(r.stdout).toBe('rc=1\n');
    }
  });

  test('flags: the number runc\'s debug log prints (seccomp filter flags: N); TSYNC accepted and ignored, as runc', () => {
    for (const [flags, n] of [[['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_TSYNC'], 2], [undefined, 4], [[], 0]] as const) {
      const spec = testSpec(['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
      spec.linux.seccomp = allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }], flags === undefined ? {} : { flags });
      const bundle = makeBundle(spec);
      try {
        const r = tsoci(['--debug', 'run', '--bundle', bundle, uniqueId('scflags')]);
        expect(r.stdout).toBe('rc=1\n');
        expect(r.stderr).toContain(`msg="seccomp filter flags: ${n}"`);
      } finally {
        removeBundle(bundle);
      }
    }
  });

  // runc's seccomp.bats "seccomp -ENOSYS handling": a syscall newer than the profile gets
  // ENOSYS (libc falls back), one it knows but does not allow gets the default errno
  test('a refusing default action: a syscall number above the profile\'s largest gets ENOSYS', () => {
    const gcc = spawnSync('sh', ['-c', 'command -v gcc'], { encoding: 'utf8' });
    if (gcc.status !== 0) {
      console.log('seccomp ENOSYS: skipped: no gcc to build the static test program');
      return;
    }
    const podman = JSON.parse(fs.readFileSync(path.join(REPO, 'bench/podman-seccomp.json'), 'utf8'));
    // its main allow list (plus arch_prctl, which static glibc needs), without acct
    const allowed: string[] = [...podman.syscalls.find((r: any) => r.action === 'SCMP_ACT_ALLOW' && r.names.length > 100).names, 'arch_prctl'].filter((n) => n !== 'acct');
    const spec = testSpec(['/enosys']);
    spec.linux.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }] };
    const bundle = makeBundle(spec);
    try {
      const src = path.join(bundle, 'enosys.c');
      fs.writeFileSync(src, '#include <errno.h>\n#include <stdio.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n' +
        'int main(void) { long r = syscall(1000, 0, 0, 0); printf("1000: %ld %d\\n", r, errno);\n' +
        '  errno = 0; r = syscall(SYS_acct, 0); printf("acct: %ld %d\\n", r, errno); return 0; }\n');
      const cc = spawnSync('gcc', ['-static', '-O2', '-o', path.join(bundle, 'rootfs/enosys'), src], { encoding: 'utf8' });
      expect(cc.stderr).toBe('');
      const r = tsoci(['run', '--bundle', bundle, uniqueId('enosys')]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('1000: -1 38\nacct: -1 1\n');
    } finally {
      removeBundle(bundle);
    }
  });

  test('unknown syscall names are skipped', () => {
    const r = run(allowAllBut([{ names: ['no_such_syscall_xyz', ...MKDIR], action: 'SCMP_ACT_ERRNO' }]), ['sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
    expect(r.stdout).toBe('rc=1\n');
  });

  test('without noNewPrivileges the filter is loaded before the uid/capability switch (uid 1000, no caps)', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_ERRNO', errnoRet: 28 }]), ['sh', '-c', 'id -u; grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status; mkdir /tmp/x; echo rc=$?'], (s) => {
      s.process.noNewPrivileges = false;
      s.process.user = { uid: 1000, gid: 1000 };
      s.process.capabilities = {};
    });
    expect(r.stdout.replace(/\t/g, ' ')).toBe('1000\nNoNewPrivs: 0\nSeccomp: 2\nrc=1\n');
    expect(r.stderr).toContain('No space left on device');
  });

  test('the container process is in filter mode (Seccomp: 2) with no_new_privs', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }]), ['sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status']);
    expect(r.stdout.replace(/\t/g, ' ')).toBe('NoNewPrivs: 1\nSeccomp: 2\n');
  });
});

describe("podman's default profile", () => {
  test('loads (19 rules, 434 syscalls, 3 architectures) and echo hi works under it', () => {
    const podman = JSON.parse(fs.readFileSync(path.join(REPO, 'bench/podman-seccomp.json'), 'utf8'));
    const r = run(podman, ['sh', '-c', 'echo hi; grep Seccomp: /proc/self/status; ls / > /dev/null && echo ls-ok']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.replace(/\t/g, ' ')).toBe('hi\nSeccomp: 2\nls-ok\n');
  });

  test('the podman config from the clients fixture runs as well', () => {
    const config = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/clients/podman-config.json'), 'utf8'));
    const r = run(config.linux.seccomp, ['sh', '-c', 'echo hi']);
    expect(r.stdout).toBe('hi\n');
  });
});

describe('the compiled-filter cache', () => {
  test('the first create compiles and stores <name>.bpf; the second reads it (faster, file untouched)', () => {
    // a profile no other test uses: the first run really compiles
    const podman = JSON.parse(fs.readFileSync(path.join(REPO, 'bench/podman-seccomp.json'), 'utf8'));
    podman.syscalls.push({ names: [`tsoci_cache_test_${process.pid}_${Date.now()}`], action: 'SCMP_ACT_ALLOW' });
    const before = new Set(fs.existsSync(CACHE) ? fs.readdirSync(CACHE) : []);
    const env = { ...process.env, TSOCI_DEBUG: '1' };
    const first = run(podman, ['true'], undefined, env);
    expect(first.status).toBe(0);
    const added = fs.readdirSync(CACHE).filter((f) => !before.has(f));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^[0-9a-f]{16}\.bpf$/);
    const file = path.join(CACHE, added[0]);
    const st1 = fs.statSync(file);
    expect(filterBytes(file) % 8).toBe(0);
    expect(st1.mode & 0o777).toBe(0o600);
    const compiled = /seccomp: compiled filter (\S+): (\d+) instructions in ([\d.]+) ms/.exec(first.stderr);
    expect(compiled?.[1]).toBe(file);

    const second = run(podman, ['true'], undefined, env);
    expect(second.status).toBe(0);
    const cached = /seccomp: cached filter (\S+): (\d+) instructions in ([\d.]+) ms/.exec(second.stderr);
    expect(cached?.[1]).toBe(file);
    expect(cached?.[2]).toBe(compiled?.[2]);
    expect(Number(cached?.[3])).toBeLessThan(Number(compiled?.[3]));
    const st2 = fs.statSync(file);
    expect(st2.ino).toBe(st1.ino);
    expect(st2.mtimeMs).toBe(st1.mtimeMs);
    // no temp files left; the cache is not a container
    expect(fs.readdirSync(CACHE).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(tsoci(['list', '--format', 'json']).stdout).map((c: any) => c.id)).not.toContain('.seccomp-cache');
    process.stdout.write(`seccomp podman profile: compile ${compiled?.[3]} ms, cached ${cached?.[3]} ms\n`);
  });
});

describe('the compiled-filter cache under concurrency', () => {
  test('six concurrent creates of a new profile: all succeed, one complete cache file, no temp files', async () => {
    const podman = JSON.parse(fs.readFileSync(path.join(REPO, 'bench/podman-seccomp.json'), 'utf8'));
    podman.syscalls.push({ names: [`tsoci_concurrent_${process.pid}_${Date.now()}`], action: 'SCMP_ACT_ALLOW' });
    const before = new Set(fs.existsSync(CACHE) ? fs.readdirSync(CACHE) : []);
    const spec = testSpec(['true']);
    spec.linux.seccomp = podman;
    const bundle = makeBundle(spec);
    try {
      const ids = Array.from({ length: 6 }, (_, i) => uniqueId(`conc${i}`));
      const results = await Promise.all(ids.map((id) => tsociAsync(['create', '--bundle', bundle, id])));
      for (const r of results) expect(r).toMatchObject({ status: 0, stderr: '' });
      for (const id of ids) expect(tsoci(['delete', '--force', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
    const added = fs.readdirSync(CACHE).filter((f) => !before.has(f));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^[0-9a-f]{16}\.bpf$/);
    expect(filterBytes(path.join(CACHE, added[0])) % 8).toBe(0);
  });
});

describe('failures leave nothing behind', () => {
  test('an unknown action is refused before anything is made', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_EXPLODE' }]), ['true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('invalid config.json: /linux/seccomp/syscalls/0/action: must be equal to one of the allowed values');
    expectNothingLeft(r.id);
  });

  test('an architecture this libseccomp does not know: a clean error naming it', () => {
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }], { architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_M68K'] }), ['true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('linux.seccomp: architectures[1]: SCMP_ARCH_M68K is not supported by this libseccomp');
    expectNothingLeft(r.id);
  });

  test('a filter the container cannot survive (execve refused): the create fails cleanly', () => {
    const r = run(allowAllBut([{ names: ['execve'], action: 'SCMP_ACT_ERRNO' }]), ['true']);
    expect(r.status).not.toBe(0);
    expectNothingLeft(r.id);
  });

  test('NOTIFY on write is refused (runc), and a listener that does not exist fails the create cleanly', () => {
    const w = run(allowAllBut([{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }], { listenerPath: '/tmp/nowhere.sock' }), ['true']);
    expect(w.stderr).toContain('SCMP_ACT_NOTIFY cannot be used for the write syscall');
    expectNothingLeft(w.id);
    const missing = path.join(os.tmpdir(), `tsoci-no-listener-${process.pid}.sock`);
    const r = run(allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_NOTIFY' }], { listenerPath: missing }), ['true']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`failed to connect with seccomp agent specified in the seccomp profile: ${missing}`);
    expectNothingLeft(r.id);
  });
});

describe('SCMP_ACT_NOTIFY', () => {
  let dir: string;
  let agent: ChildProcess | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-seccomp-agent-'));
  });
  afterEach(async () => {
    if (agent && agent.exitCode === null) {
      const gone = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGKILL');
      await gone;
    }
    agent = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startAgent(mode: 'close' | 'answer'): Promise<{ sock: string; out: string }> {
    const sock = path.join(dir, 'agent.sock');
    const out = path.join(dir, 'agent.out');
    agent = spawn('python3', [path.join(REPO, 'test/helpers/seccomp-agent.py'), sock, out, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      agent!.stdout!.once('data', () => resolve());
      agent!.once('exit', (c) => reject(new Error(`agent exited ${c}`)));
    });
    return { sock, out };
  }

  const records = (out: string) => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

  test('the listener gets the notify fd and the container process state; it answers one syscall; after it closes: ENOSYS', async () => {
    const { sock, out } = await startAgent('answer');
    const spec = testSpec(['sh', '-c', 'mkdir /tmp/a 2>/tmp/err1; echo rc1=$? > /tmp/result; mkdir /tmp/b 2>/tmp/err2; echo rc2=$? >> /tmp/result']);
    spec.linux.seccomp = allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_NOTIFY' }], { listenerPath: sock, listenerMetadata: 'meta-42' });
    spec.annotations = { 'org.example/key': 'value' };
    const bundle = makeBundle(spec);
    try {
      const id = uniqueId('notify');
      expect(tsoci(['create', '--bundle', bundle, id]).stderr).toBe('');
      const pid = stateOf(id).pid;
      waitFor(() => records(out).length >= 1);
      const [rec] = records(out);
      expect(rec.fds).toBe(1);
      expect(rec.fdTarget).toBe('anon_inode:seccomp notify');
      expect(rec.state).toEqual({
        ociVersion: '1.3.0',
        fds: ['seccompFd'],
        pid,
        metadata: 'meta-42',
        state: { ociVersion: '1.3.0', id, status: 'creating', pid, bundle, annotations: { 'org.example/key': 'value' } },
      });
      expect(tsoci(['start', id]).status).toBe(0);
      waitFor(() => stateOf(id).status === 'stopped');
      const rootfs = path.join(bundle, 'rootfs');
      expect(fs.readFileSync(path.join(rootfs, 'tmp/result'), 'utf8')).toBe('rc1=1\nrc2=1\n');
      expect(fs.readFileSync(path.join(rootfs, 'tmp/err1'), 'utf8')).toContain('Block device required');
      expect(fs.readFileSync(path.join(rootfs, 'tmp/err2'), 'utf8')).toContain('Function not implemented');
      expect(fs.existsSync(path.join(rootfs, 'tmp/a'))).toBe(false);
      // the notifying task is sh's mkdir child: one notification, for mkdir or mkdirat
      expect(records(out)).toHaveLength(2);
      expect([83, 258]).toContain(records(out)[1].answered);
      expect(tsoci(['delete', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });

  test('an exec gets the container profile: the listener gets its fd with status running and the init pid', async () => {
    const { sock, out } = await startAgent('close');
    const spec = testSpec(['sleep', '600']);
    spec.linux.seccomp = allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_NOTIFY' }], { listenerPath: sock });
    const bundle = makeBundle(spec);
    try {
      const id = uniqueId('notifyx');
      expect(tsoci(['run', '-d', '--bundle', bundle, id]).stderr).toBe('');
      const initPid = stateOf(id).pid;
      const pidFile = path.join(bundle, 'exec.pid');
      const r = tsoci(['exec', '--pid-file', pidFile, id, 'sh', '-c', 'mkdir /tmp/x; echo rc=$?']);
      expect(r.stdout).toBe('rc=1\n');
      expect(r.stderr).toContain('Function not implemented');
      const recs = records(out);
      expect(recs).toHaveLength(2);
      const execPid = Number(fs.readFileSync(pidFile, 'utf8'));
      expect(recs[1].state).toMatchObject({ fds: ['seccompFd'], pid: execPid, state: { id, status: 'running', pid: initPid, bundle } });
      expect(recs[1].state.metadata).toBeUndefined();
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('exec', () => {
  test('an exec is under the container profile', () => {
    const spec = testSpec(['sleep', '600']);
    spec.linux.seccomp = allowAllBut([{ names: MKDIR, action: 'SCMP_ACT_ERRNO', errnoRet: 28 }]);
    const bundle = makeBundle(spec);
    try {
      const id = uniqueId('scexec');
      expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
      const r = tsoci(['exec', id, 'sh', '-c', 'mkdir /tmp/x; echo rc=$?; grep Seccomp: /proc/self/status']);
      expect(r.stdout.replace(/\t/g, ' ')).toBe('rc=1\nSeccomp: 2\n');
      expect(r.stderr).toContain('No space left on device');
      // without no_new_privs as well (loaded while the exec still has CAP_SYS_ADMIN)
      const n = tsoci(['exec', '--no-new-privs=false', '--user', '1000:1000', id, 'sh', '-c', 'mkdir /tmp/y; echo rc=$?; grep NoNewPrivs /proc/self/status']);
      expect(n.stdout.replace(/\t/g, ' ')).toBe('rc=1\nNoNewPrivs: 0\n');
      expect(tsoci(['delete', '--force', id]).status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  });
});
