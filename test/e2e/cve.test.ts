import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, REPO, TEST_ROOT, TSOCI } from '../helpers/tsoci';
import { settledDiff, snapshot } from '../helpers/leaks';

// Container-escape classes runc has had, attempted for real from inside a container.
// Each attack must fail; the host must be unchanged afterwards.

const INIT = path.join(REPO, 'build', 'Release', 'tsoci-init');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function waitFor(cond: () => boolean, timeoutMs = 10000): void {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    sleepMs(20);
  }
}

/** Copies the host's dynamic loader and libc into a rootfs: an image able to run tsoci-init. */
function addGlibc(rootfs: string): void {
  const ldd = spawnSync('ldd', [INIT], { encoding: 'utf8' }).stdout;
  for (const m of ldd.matchAll(/(\/\S+\.so[.\d]*)/g)) {
    const dst = path.join(rootfs, m[1]);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(fs.realpathSync(m[1]), dst);
  }
}

afterEach(() => deleteAll());

describe('CVE-2019-5736: no container process can write a host binary through /proc/*/exe', () => {
  // Scans /proc for processes running tsoci-init (or a copy), grabs /proc/<pid>/exe, and
  // once that process is gone (no more ETXTBSY) writes through the grabbed fd.
  const ATTACK = `
while [ ! -e /tmp/stop ]; do
  for d in /proc/[0-9]*; do
    p=\${d#/proc/}
    [ "$p" = "$$" ] && continue
    t=$(readlink $d/exe 2>/dev/null) || continue
    case "$t" in
      *tsoci*|*memfd*|*node*)
        if exec 3< $d/exe 2>/dev/null; then
          echo "caught $p $t" >> /tmp/result
          j=0
          while [ $j -lt 300 ]; do
            j=$((j+1))
            if ( printf X >> /proc/self/fd/3 ) 2>/dev/null; then echo "WROTE $p $t" >> /tmp/result; break; fi
          done
          exec 3<&-
        else
          echo "denied $p $t" >> /tmp/result
        fi;;
    esac
  done
done
echo done >> /tmp/result
`;
  let bundle: string;
  let rootfs: string;
  beforeAll(() => {
    bundle = makeBundle(testSpec(['sh', '/attack.sh']));
    rootfs = path.join(bundle, 'rootfs');
    addGlibc(rootfs);
    fs.writeFileSync(path.join(rootfs, 'attack.sh'), ATTACK, { mode: 0o755 });
    fs.writeFileSync(path.join(rootfs, 'evil'), '#!/proc/self/exe\n', { mode: 0o755 });
  });
  afterAll(() => removeBundle(bundle));

  /** Runs tsoci with a stdin pipe held open for `holdMs` (TSOCI_SYNC_FD=0 makes the evil init block reading it). */
  function runHeld(args: string[], holdMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      const child = spawn(TSOCI, ['--root', TEST_ROOT, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.stdin.on('error', () => {});
      setTimeout(() => child.stdin.end(), holdMs);
      child.on('exit', (code) => resolve(code));
    });
  }

  test('#!/proc/self/exe as an exec\'d process and as a container entrypoint; the attacker waits for each to exit', async () => {
    const hashes = { init: sha256(INIT), node: sha256(process.execPath) };
    const before = snapshot(TEST_ROOT);
    const id = uniqueId('cve5736');
    fs.rmSync(path.join(rootfs, 'tmp/result'), { force: true });
    fs.rmSync(path.join(rootfs, 'tmp/stop'), { force: true });
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const { pid } = stateOf(id);
    // the waiting init already runs from a sealed anonymous copy
    expect(fs.readlinkSync(`/proc/${pid}/exe`)).toMatch(/^\/memfd:tsoci-init/);
    expect(tsoci(['start', id]).status).toBe(0);

    // an exec'd process whose executable is "#!/proc/self/exe": tsoci-init becomes the
    // process, in the container (TSOCI_SYNC_FD=0, an env the image controls, keeps it alive)
    for (let i = 0; i < 2; i++) {
      const code = await runHeld(['exec', '--env', 'TSOCI_SYNC_FD=0', id, '/evil'], 800);
      expect(code).not.toBe(0);
    }
    // a container whose entrypoint is "#!/proc/self/exe", sharing the attacker's PID namespace
    const evil = testSpec(['/evil']);
    evil.process.env.push('TSOCI_SYNC_FD=0');
    evil.linux.namespaces = evil.linux.namespaces.map((n: { type: string }) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : n));
    evil.root = { path: rootfs };
    const evilBundle = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cve-bundle-'));
    fs.writeFileSync(path.join(evilBundle, 'config.json'), JSON.stringify(evil));
    const evilId = uniqueId('cve5736e');
    try {
      expect(await runHeld(['run', '--bundle', evilBundle, evilId], 800)).not.toBe(0);
    } finally {
      tsoci(['delete', '--force', evilId]);
      removeBundle(evilBundle);
    }

    fs.writeFileSync(path.join(rootfs, 'tmp/stop'), '');
    // the attacker polls every process in its namespace: on a loaded host its last round is slow
    waitFor(() => fs.existsSync(path.join(rootfs, 'tmp/result')) && fs.readFileSync(path.join(rootfs, 'tmp/result'), 'utf8').includes('done'), 30000);
    const result = fs.readFileSync(path.join(rootfs, 'tmp/result'), 'utf8');
    // the attack ran: it caught the evil processes (a copy of tsoci-init) …
    expect(result).toMatch(/^caught \d+ \/memfd:tsoci-init/m);
    // … but never a host file, and no write went through
    expect(result).not.toMatch(/caught \d+ \/(?!memfd:)/);
    expect(result).not.toContain('WROTE');
    expect({ init: sha256(INIT), node: sha256(process.execPath) }).toEqual(hashes);
    expect(tsoci(['delete', '--force', id]).status).toBe(0);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [id, evilId, bundle] })).toEqual([]);
  });
});

describe('CVE-2024-21626: no host fd reaches the container; process.cwd cannot use one', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = makeBundle(testSpec(['sleep', '600']));
  });
  afterAll(() => removeBundle(bundle));

  const fdsOf = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b);

  test('the container process and an exec\'d process hold only 0-2 (plus --preserve-fds)', () => {
    const id = uniqueId('fds');
    expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    const { pid } = stateOf(id);
    waitFor(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'));
    expect(fdsOf(pid)).toEqual([0, 1, 2]);
    const pidFile = path.join(bundle, 'exec.pid');
    expect(tsoci(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '600']).status).toBe(0);
    const execPid = Number(fs.readFileSync(pidFile, 'utf8'));
    waitFor(() => fs.readFileSync(`/proc/${execPid}/cmdline`, 'utf8').startsWith('sleep'));
    expect(fdsOf(execPid)).toEqual([0, 1, 2]);
  });

  test('--preserve-fds 2 passes exactly fds 3 and 4', () => {
    const id = uniqueId('pfds');
    const file = path.join(bundle, 'preserved');
    fs.writeFileSync(file, '');
    const fd3 = fs.openSync(file, 'r');
    const fd4 = fs.openSync(file, 'r');
    try {
      const r = spawnSync(TSOCI, ['--root', TEST_ROOT, 'run', '-d', '--preserve-fds', '2', '--bundle', bundle, id], {
        stdio: ['ignore', 'ignore', 'ignore', fd3, fd4],
      });
      expect(r.status).toBe(0);
    } finally {
      fs.closeSync(fd3);
      fs.closeSync(fd4);
    }
    const { pid } = stateOf(id);
    waitFor(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'));
    expect(fdsOf(pid)).toEqual([0, 1, 2, 3, 4]);
  });

  test.each([3, 4, 5, 6, 7, 8])('process.cwd /proc/self/fd/%d: create fails, or the cwd is inside the container', (n) => {
    const spec = testSpec(['sleep', '600']);
    spec.process.cwd = `/proc/self/fd/${n}`;
    const b = makeBundle(spec);
    const id = uniqueId('cwdfd');
    try {
      const r = tsoci(['create', '--bundle', b, id]);
      if (r.status !== 0) {
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/cwd/);
        return;
      }
      expect(tsoci(['start', id]).status).toBe(0);
      const { pid } = stateOf(id);
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      expect(cwd.startsWith(path.join(b, 'rootfs'))).toBe(true);
    } finally {
      tsoci(['delete', '--force', id]);
      removeBundle(b);
    }
  });

  test('exec --cwd /proc/self/fd/N cannot reach the host either', () => {
    const id = uniqueId('execcwd');
    expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    for (const n of [3, 4, 5, 6, 7]) {
      const r = tsoci(['exec', '--cwd', `/proc/self/fd/${n}`, id, 'sh', '-c', 'ls ..; pwd']);
      if (r.status === 0) {
        // it ran: then ".." is the container's, not the host's
        expect(r.stdout).not.toMatch(/\b(work|boot|home)\b/);
        expect(r.stdout).not.toContain(REPO);
      } else {
        expect(r.stderr).toMatch(/cwd|chdir/);
      }
    }
  });
});

describe('CVE-2021-30465: a mount destination swapped to a symlink during create never lands outside the rootfs', () => {
  test.each(['tmpfs', 'bind'])('%s mount under a path flipping between a dir and a link to a host dir', async (kind) => {
    const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cve-host-'));
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-cve-src-'));
    fs.writeFileSync(path.join(src, 'marker'), 'x');
    const spec = testSpec(['true']);
    spec.mounts.push(kind === 'tmpfs'
      ? { destination: '/mnt/flip/sub', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }
      : { destination: '/mnt/flip/sub', type: 'bind', source: src, options: ['rbind'] });
    const bundle = makeBundle(spec);
    const flip = path.join(bundle, 'rootfs/mnt/flip');
    fs.mkdirSync(path.dirname(flip), { recursive: true });
    // a separate process flips the component as fast as it can
    const flipper = spawn(process.execPath, ['-e', `
      const fs = require('fs'); const p = ${JSON.stringify(flip)};
      for (;;) {
        try { fs.rmSync(p, { recursive: true, force: true }); fs.mkdirSync(p); } catch {}
        try { fs.rmSync(p, { recursive: true, force: true }); fs.symlinkSync(${JSON.stringify(hostDir)}, p); } catch {}
      }`], { stdio: 'ignore' });
    const hostMounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ').slice(3, 5).join(' ')).sort();
    const mountsBefore = hostMounts();
    const before = snapshot(TEST_ROOT);
    const ids: string[] = [];
    const outcomes = { ok: 0, failed: 0 };
    try {
      const runs = Number(process.env.TSOCI_CVE_RACES ?? 8);
      for (let i = 0; i < runs; i++) {
        const id = uniqueId('flip');
        ids.push(id);
        const r = tsoci(['create', '--bundle', bundle, id]);
        if (r.status === 0) outcomes.ok++;
        else {
          outcomes.failed++;
          expect(r.status).toBe(1);
          expect(r.stderr).not.toMatch(/\n\s+at /);
        }
        // whatever happened, nothing appeared in the host directory
        expect(fs.readdirSync(hostDir)).toEqual([]);
        tsoci(['delete', '--force', id]);
      }
    } finally {
      flipper.kill('SIGKILL');
      await new Promise((r) => flipper.on('exit', r));
    }
    expect(outcomes.ok + outcomes.failed).toBeGreaterThan(0);
    process.stdout.write(`CVE-2021-30465 ${kind}: ${outcomes.ok} creates succeeded, ${outcomes.failed} failed cleanly while the path flipped\n`);
    expect(fs.readdirSync(hostDir)).toEqual([]);
    expect(hostMounts()).toEqual(mountsBefore);
    expect(settledDiff(before, TEST_ROOT, { mentioning: [...ids, bundle] })).toEqual([]);
    removeBundle(bundle);
    fs.rmSync(hostDir, { recursive: true, force: true });
    fs.rmSync(src, { recursive: true, force: true });
  });
});

describe('masked and read-only paths of the default spec hold against a process without CAP_SYS_ADMIN', () => {
  test('remounts, writes and unmounts of /proc/sys, /proc/sysrq-trigger, masked files all fail', () => {
    const bundle = makeBundle({});
    try {
      fs.rmSync(path.join(bundle, 'config.json'));
      expect(tsoci(['spec', '--bundle', bundle]).status).toBe(0);
      const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
      expect(spec.linux.readonlyPaths).toEqual(expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger']));
      expect(spec.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys']));
      expect(spec.process.capabilities.bounding).not.toContain('CAP_SYS_ADMIN');
      spec.process.terminal = false;
      // (this kernel may lack some: /proc/kcore and /proc/sysrq-trigger are optional)
      const masked = (spec.linux.maskedPaths as string[]).filter((p) => p.startsWith('/proc/') && fs.existsSync(p) && fs.statSync(p).isFile());
      const attempts = [
        'mount -o remount,rw /proc/sys',
        'mount -o remount,rw,bind /proc/sys',
        'mount -o remount,rw /proc/sysrq-trigger',
        'umount /proc/sys',
        'umount -l /proc/sysrq-trigger',
        'umount /proc/kcore',
        'umount /proc/keys',
        'mount -t proc proc /tmp',
        'echo 1 > /proc/sys/kernel/sysrq',
        'echo h > /proc/sysrq-trigger',
        'echo evil > /proc/sys/kernel/hostname',
      ];
      spec.process.args = ['sh', '-c', [
        ...attempts.map((a, i) => `if (${a}) 2>/dev/null; then echo "ESCAPED ${i}"; else echo "held ${i}"; fi`),
        // masked files that exist on this kernel read as empty
        ...masked.map((m) => `echo "masked ${m} $(wc -c < ${m})"`),
        'grep -E " /proc/(sys|sysrq-trigger) " /proc/self/mountinfo',
      ].join('; ')];
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      const sysrq = '/proc/sys/kernel/sysrq';
      const hostSysrq = fs.existsSync(sysrq) ? fs.readFileSync(sysrq, 'utf8') : undefined;
      const r = tsoci(['run', '--bundle', bundle, uniqueId('masked')]);
      expect(r.stdout).not.toContain('ESCAPED');
      for (let i = 0; i < attempts.length; i++) expect(r.stdout).toContain(`held ${i}`);
      expect(masked.length).toBeGreaterThan(0);
      for (const m of masked) expect(r.stdout).toContain(`masked ${m} 0\n`);
      const mountLines = r.stdout.split('\n').filter((l) => / \/proc\/(sys|sysrq-trigger) /.test(l));
      expect(mountLines.length).toBe(['/proc/sys', '/proc/sysrq-trigger'].filter((p) => fs.existsSync(p)).length);
      for (const l of mountLines) expect(l.split(' ')[5]).toMatch(/^ro\b/);
      if (hostSysrq !== undefined) expect(fs.readFileSync(sysrq, 'utf8')).toBe(hostSysrq);
    } finally {
      removeBundle(bundle);
    }
  });
});

// runc's no_pivot.bats: after MS_MOVE + chroot the host's full /proc would still be in the
// container's mount namespace, and the kernel lets a user namespace mount a fresh, unmasked
// procfs when one is visible; tsoci-init detaches it first (runc's msMoveRoot).
describe('--no-pivot does not expose a bare /proc', () => {
  test('unshare -mrpf + mount -t proc fails with "permission denied"; the container\'s own /proc works; the host keeps /proc and /sys', () => {
    const spec = testSpec(['sh', '-c', 'head -n 1 /proc/self/status; unshare -mrpf sh -c "mount -t proc none /proc && echo ESCAPED"']);
    for (const set of ['bounding', 'permitted'] as const) spec.process.capabilities[set] = [...spec.process.capabilities[set], 'CAP_SETFCAP'];
    const bundle = makeBundle(spec);
    try {
      const r = tsoci(['run', '--no-pivot', '--bundle', bundle, uniqueId('nopivot')]);
      expect(r.stdout).toBe('Name:\thead\n');
      expect(r.stderr).toContain('mount: permission denied');
      expect(r.status).toBe(1);
      const hostMounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
      expect(hostMounts).toEqual(expect.arrayContaining(['/proc', '/sys']));
    } finally {
      removeBundle(bundle);
    }
  });
});
