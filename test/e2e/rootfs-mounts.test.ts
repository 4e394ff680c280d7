import { execFileSync } from 'child_process';
import * as os from 'os';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { diff, snapshot } from '../helpers/leaks';
import { deleteAll, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';

// The cases of runc's tests/integration/mounts.bats and mask.bats, as a runc user sees
// them: /proc and /sys on symlinks refused, tmpfs modes, tmpcopyup, destinations through
// dangling symlinks, ro tmpfs and /dev, binds of a file, masked paths.

afterEach(() => deleteAll());

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** What this container left behind (only items naming it: other work may run on the host). */
function leftovers(before: ReturnType<typeof snapshot>, ...names: string[]): string[] {
  let left: string[] = [];
  for (let i = 0; i < 250; i++) {
    left = diff(before, snapshot(TEST_ROOT)).filter((l) => names.some((n) => l.includes(n)));
    if (left.length === 0) break;
    Atomics.wait(sleeper, 0, 0, 20);
  }
  return left;
}

type Edit = (spec: Record<string, any>) => void;
type Prepare = (rootfs: string, bundle: string) => void;

/** `tsoci run` of `sh -c script` in a fresh bundle; `check` sees the rootfs afterwards. */
function run(script: string, edit: Edit = () => undefined, prepare: Prepare = () => undefined, check: Prepare = () => undefined) {
  const spec = testSpec(['sh', '-c', script]);
  edit(spec);
  const bundle = makeBundle(spec);
  fs.chmodSync(bundle, 0o755);
  const rootfs = path.join(bundle, 'rootfs');
  try {
    prepare(rootfs, bundle);
    const r = tsoci(['run', '--bundle', bundle, uniqueId('mnt')]);
    check(rootfs, bundle);
    return r;
  } finally {
    removeBundle(bundle);
  }
}

const tmpfs = (destination: string, options: string[]) => (s: Record<string, any>) => {
  s.mounts.push({ type: 'tmpfs', source: 'tmpfs', destination, options });
};
const mode = (p: string) => (fs.statSync(p).mode & 0o7777).toString(8);

describe('rootfs safety: /proc and /sys must be mounted on ordinary directories (CVE-2019-19921, CVE-2023-27561)', () => {
  test.each([
    ['/proc is a symlink', 'proc', (r: string) => fs.symlinkSync('/bad-proc', path.join(r, 'proc'))],
    ['/proc is a symlink to a path that does not exist', 'proc', (r: string) => fs.symlinkSync('/symlink', path.join(r, 'proc'))],
    ['/proc is a regular file', 'proc', (r: string) => fs.writeFileSync(path.join(r, 'proc'), '')],
    ['/sys is a symlink', 'sysfs', (r: string) => fs.symlinkSync('/bad-proc', path.join(r, 'sys'))],
  ])('%s: refused with runc\'s message, exit 1, nothing mounted or left behind', (_name, fsType, plant) => {
    const bundle = makeBundle(testSpec(['true']));
    const rootfs = path.join(bundle, 'rootfs');
    const dir = fsType === 'proc' ? 'proc' : 'sys';
    fs.rmSync(path.join(rootfs, dir), { recursive: true, force: true });
    fs.mkdirSync(path.join(rootfs, 'bad-proc'));
    plant(rootfs);
    const id = uniqueId('procsym');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['run', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        `tsoci: error mounting "${fsType}" to rootfs at "/${dir}": filesystem "${fsType}" must be mounted on ordinary directory`,
      ]);
      // the symlink's target got nothing
      expect(fs.readdirSync(path.join(rootfs, 'bad-proc'))).toEqual([]);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('a /proc directory (the ordinary case) still works, also a missing one (created)', () => {
    const r = run('grep -c "^proc /proc proc" /proc/self/mounts', () => undefined, (rootfs) => fs.rmdirSync(path.join(rootfs, 'proc')));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n');
  });
});

describe('rootfs safety: nothing but procfs over /proc, nothing inside it but lxcfs\'s files (runc checkProcMount)', () => {
  test.each([
    ['a bind inside /proc', { source: '/tmp', destination: '/proc/sys/kernel', options: ['bind'] }, 'proc/sys/kernel" cannot be mounted because it is inside /proc'],
    ['a tmpfs over /proc', { source: 'tmpfs', destination: '/proc', type: 'tmpfs' }, 'proc" cannot be mounted because it is not of type proc'],
    ['a bind of a non-proc directory over /proc', { source: '/tmp', destination: '/proc', options: ['rbind'] }, 'proc" cannot be mounted because it is not of type proc'],
  ])('%s is refused: one line, exit 1, nothing left behind', (_name, mount, why) => {
    const spec = testSpec(['true']);
    spec.mounts.push(mount);
    const bundle = makeBundle(spec);
    const id = uniqueId('procmnt');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['run', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^tsoci: error mounting "${mount.source}" to rootfs at "${mount.destination}": "/`));
      expect(lines[0]).toContain(why);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });

  test('allowed: the host\'s procfs over /proc, lxcfs-style files inside it, a /procx directory', () => {
    const r = run('grep -c "^proc /proc proc" /proc/self/mounts; head -c5 /proc/meminfo; echo; ls -d /procx', (s) => {
      s.mounts.push({ source: '/proc', destination: '/proc', options: ['rbind'] });
      s.mounts.push({ source: '/proc/cpuinfo', destination: '/proc/meminfo', options: ['bind'] });
      s.mounts.push({ source: 'tmpfs', destination: '/procx', type: 'tmpfs' });
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\d+\nproce\n\/procx\n$/);
  });
});

describe('tmpfs modes (runc issue 4971)', () => {
  test('a tmpfs on an existing directory inherits its mode (mode= in the mount options)', () => {
    const r = run('stat -c %a /tmpfs; grep "^tmpfs /tmpfs " /proc/self/mounts', tmpfs('/tmpfs', ['rw', 'nodev', 'nosuid']),
      (rootfs) => { fs.mkdirSync(path.join(rootfs, 'tmpfs')); fs.chmodSync(path.join(rootfs, 'tmpfs'), 0o710); });
    expect(r.stderr).toBe('');
    const [m, line] = r.stdout.trim().split('\n');
    expect(m).toBe('710');
    expect(line).toMatch(/^tmpfs \/tmpfs tmpfs \S*\bmode=710\b/);
  });

  test('setuid/setgid/sticky bits are inherited too', () => {
    const r = run('stat -c %a /tmpfs', tmpfs('/tmpfs', []),
      (rootfs) => { fs.mkdirSync(path.join(rootfs, 'tmpfs')); fs.chmodSync(path.join(rootfs, 'tmpfs'), 0o3751); });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('3751\n');
  });

  test('an explicit mode= wins; the directory beneath is not chmod-ed', () => {
    const r = run('stat -c %a /tmpfs; grep "^tmpfs /tmpfs " /proc/self/mounts', tmpfs('/tmpfs', ['rw', 'nodev', 'nosuid', 'mode=1500']),
      (rootfs) => { fs.mkdirSync(path.join(rootfs, 'tmpfs')); fs.chmodSync(path.join(rootfs, 'tmpfs'), 0o710); },
      (rootfs) => expect(mode(path.join(rootfs, 'tmpfs'))).toBe('710'));
    expect(r.stderr).toBe('');
    const [m, line] = r.stdout.trim().split('\n');
    expect(m).toBe('1500');
    expect(line).toMatch(/^tmpfs \/tmpfs tmpfs \S*\bmode=1500\b/);
  });

  test('on a directory created for it: the tmpfs default 1777, no mode= option; created parents are 0755', () => {
    const r = run('stat -c %a /non-existent/foo/bar/baz; grep "^tmpfs /non-existent/foo/bar/baz " /proc/self/mounts',
      tmpfs('/non-existent/foo/bar/baz', ['rw', 'nodev', 'nosuid']), () => undefined,
      (rootfs) => {
        for (const p of ['non-existent', 'non-existent/foo', 'non-existent/foo/bar', 'non-existent/foo/bar/baz'])
          expect([p, mode(path.join(rootfs, p))]).toEqual([p, '755']);
      });
    expect(r.stderr).toBe('');
    const [m, line] = r.stdout.trim().split('\n');
    expect(m).toBe('1777');
    expect(line).not.toMatch(/\bmode=[0-7]+\b/);
  });

  test('directories created under a setgid directory inherit the setgid bit (runc issue 4401)', () => {
    const r = run('true', tmpfs('/setgid/a/b/c', ['ro', 'nodev', 'nosuid']),
      (rootfs) => { fs.mkdirSync(path.join(rootfs, 'setgid')); fs.chmodSync(path.join(rootfs, 'setgid'), 0o7755); },
      (rootfs) => {
        expect(mode(path.join(rootfs, 'setgid'))).toBe('7755');
        for (const p of ['setgid/a', 'setgid/a/b', 'setgid/a/b/c']) expect([p, mode(path.join(rootfs, p))]).toEqual([p, '2755']);
      });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('tmpfs tmpcopyup (runc issue 3991)', () => {
  const populate = (rootfs: string) => {
    const d = path.join(rootfs, 'dir1');
    fs.mkdirSync(path.join(d, 'dir2', 'deep'), { recursive: true });
    fs.chmodSync(path.join(d, 'dir2'), 0o777);
    fs.writeFileSync(path.join(d, 'file'), 'hello\n');
    fs.chownSync(path.join(d, 'file'), 12, 34);
    fs.chmodSync(path.join(d, 'file'), 0o644);
    fs.writeFileSync(path.join(d, 'dir2', 'deep', 'big'), Buffer.alloc(300 * 1024, 7));
    fs.symlinkSync('../file', path.join(d, 'dir2', 'link'));
    fs.lchownSync(path.join(d, 'dir2', 'link'), 5, 6);
    execFileSync('mkfifo', ['-m', '0604', path.join(d, 'fifo')]);
    fs.utimesSync(path.join(d, 'file'), 1000000000, 1000000000);
  };

  test('the new tmpfs holds a copy of the directory: modes, owners, times, symlinks, fifos, content', () => {
    const script = [
      'ls -ld /dir1/dir2 | cut -c1-10', 'stat -c "%a %u:%g %Y %s" /dir1/file', 'cat /dir1/file', 'readlink /dir1/dir2/link',
      'stat -c "%u:%g" /dir1/dir2/link', 'stat -c "%F %a" /dir1/fifo', 'wc -c < /dir1/dir2/deep/big', 'grep "^tmpfs /dir1 " /proc/self/mounts | cut -d" " -f1-3',
      'echo new > /dir1/new',
    ].join('; ');
    const r = run(script, tmpfs('/dir1', ['tmpcopyup']), populate,
      // the copy is the tmpfs': the rootfs' file is unchanged
      (rootfs) => expect(fs.existsSync(path.join(rootfs, 'dir1', 'new'))).toBe(false));
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      'drwxrwxrwx', '644 12:34 1000000000 6', 'hello', '../file', '5:6', 'fifo 604', '307200', 'tmpfs /dir1 tmpfs',
    ]);
  });

  test('with ro: the copy is made, then the tmpfs is read-only', () => {
    const r = run('cat /dir1/file; grep "^tmpfs /dir1 " /proc/self/mounts | cut -d" " -f4 | cut -d, -f1; touch /dir1/x',
      tmpfs('/dir1', ['ro', 'tmpcopyup']), populate);
    expect(r.stdout.trim().split('\n')).toEqual(['hello', 'ro']);
    expect(r.stderr).toContain('Read-only file system');
  });

  test('on a directory created for it: an empty tmpfs', () => {
    const r = run('ls -A /made/here | wc -l; stat -c %a /made/here', tmpfs('/made/here', ['tmpcopyup']));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0\n1777\n');
  });

  test('a copy that does not fit fails cleanly: one error line, exit 1, nothing left behind', () => {
    const spec = testSpec(['true']);
    tmpfs('/dir1', ['tmpcopyup', 'size=64k'])(spec);
    const bundle = makeBundle(spec);
    populate(path.join(bundle, 'rootfs'));
    const id = uniqueId('copyup');
    const before = snapshot(TEST_ROOT);
    try {
      const r = tsoci(['run', '--bundle', bundle, id]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/tmpcopyup: copy \/dir1\/dir2\/deep\/big: no space left on device/);
      expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
      expect(leftovers(before, id, bundle)).toEqual([]);
    } finally {
      removeBundle(bundle);
    }
  });
});

describe('mount destinations through symlinks (resolved inside the rootfs)', () => {
  /** Binds `src` (relative to the bundle) to `dst`; prints what `realDst` is and its mount line. */
  const bindCheck = (src: string, dst: string, realDst: string, plant: Prepare) => {
    let expected = '';
    const r = run(`stat -c "%n %d:%i" -- ${realDst}; grep -c " ${realDst} " /proc/self/mounts`,
      (s) => s.mounts.push({ source: src, destination: dst, options: ['bind'] }),
      (rootfs, bundle) => {
        plant(rootfs, bundle);
        const st = fs.statSync(path.join(bundle, src));
        expected = `${realDst} ${st.dev}:${st.ino}`;
      });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${expected}\n1\n`);
  };

  test('a dangling symlink component: created where it points, in the rootfs', () => {
    bindCheck('config.json', '/etc/hosts', '/tmp/foo/bar/baz/hosts', (rootfs) => {
      fs.symlinkSync('/tmp/foo/bar', path.join(rootfs, 'jump'));
      fs.symlinkSync('/jump/baz/hosts', path.join(rootfs, 'etc/hosts'));
    });
  });

  test.each([['file', 'config.json'], ['directory', '.']])('a trailing dangling symlink (%s)', (_kind, src) => {
    bindCheck(src, '/etc/hosts', '/tmp/hosts', (rootfs) => fs.symlinkSync('/tmp/hosts', path.join(rootfs, 'etc/hosts')));
  });

  test('a tmpfs under an absolute symlink (/conf -> /real/conf) lands in /real/conf (runc issue 2683)', () => {
    const r = run('grep -c "^tmpfs /real/conf/stack " /proc/self/mounts', tmpfs('/conf/stack', ['ro', 'nodev', 'nosuid']),
      (rootfs) => { fs.mkdirSync(path.join(rootfs, 'real/conf'), { recursive: true }); fs.symlinkSync('/real/conf', path.join(rootfs, 'conf')); });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n');
  });
});

describe('read-only tmpfs and /dev, binds', () => {
  test('a ro tmpfs is ro (runc issue 2246); a ro /dev too (issue 3248)', () => {
    const r = run('grep -E "^tmpfs /(mnt|dev) " /proc/self/mounts | cut -d" " -f2,4 | cut -d, -f1', (s) => {
      tmpfs('/mnt', ['ro', 'nodev', 'nosuid', 'mode=755'])(s);
      s.mounts.find((m: any) => m.destination === '/dev').options.push('ro');
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').sort()).toEqual(['/dev ro', '/mnt ro']);
  });

  test('a bind of the bundle directory, and of a single file', () => {
    const r = run('ls /tmp/bind/config.json; head -c1 /etc/conf.json; echo', (s) => {
      s.mounts.push({ source: '.', destination: '/tmp/bind', options: ['bind'] });
      s.mounts.push({ source: 'config.json', destination: '/etc/conf.json', options: ['bind', 'ro'] });
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('/tmp/bind/config.json\n{\n');
  });
});

describe('masked paths (runc mask.bats)', () => {
  const prepare = (rootfs: string) => {
    for (const d of ['testdir', 'testdir2', 'testdir3']) fs.mkdirSync(path.join(rootfs, d));
    fs.writeFileSync(path.join(rootfs, 'testdir/secret'), 'x');
    fs.writeFileSync(path.join(rootfs, 'testfile'), 'Forbidden information!\n');
  };
  const mask = (...paths: string[]) => (s: Record<string, any>) => s.linux.maskedPaths.push(...paths);

  test('a file reads empty and cannot be removed; a directory is empty and read-only (read-only rootfs, as runc spec makes)', () => {
    const r = run('cat /testfile; ls -A /testdir; rm -f /testfile 2>&1; touch /testdir/foo 2>&1; true',
      (s) => { mask('/testdir', '/testfile')(s); s.root.readonly = true; }, prepare);
    expect(r.stdout).toContain("rm: can't remove '/testfile': Read-only file system");
    expect(r.stdout).toContain('touch: /testdir/foo: Read-only file system');
    expect(r.stdout).not.toContain('Forbidden');
    expect(r.stdout).not.toContain('secret');
  });

  test('a path listed twice is masked once', () => {
    const r = run('grep -c " /testdir " /proc/self/mounts; grep -c " /testfile " /proc/self/mounts',
      mask('/testdir', '/testfile', '/testdir', '/testfile/'), prepare);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1\n1\n');
  });

  test('masked directories share one read-only tmpfs; also with a read-only rootfs', () => {
    for (const readonly of [false, true]) {
      const r = run('set -- $(stat -c %d /testdir /testdir2 /testdir3); [ "$1" = "$2" ] && [ "$2" = "$3" ] && echo same; ls -A /testdir; touch /testdir2/foo',
        (s) => { mask('/testdir', '/testdir2', '/testdir3')(s); s.root.readonly = readonly; }, prepare);
      expect(r.stdout).toBe('same\n');
      expect(r.stderr).toContain('Read-only file system');
    }
  });
});

describe('recursive mount attributes on an rbind (runc mounts_recursive.bats)', () => {
  let vol: string;
  beforeAll(() => {
    vol = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-bundle-vol-'));
    execFileSync('mount', ['-t', 'tmpfs', 'none', vol]);
    fs.mkdirSync(path.join(vol, 'subvol'));
    execFileSync('mount', ['-t', 'tmpfs', 'none', path.join(vol, 'subvol')]);
  });
  afterAll(() => {
    execFileSync('umount', ['-R', vol]);
    fs.rmdirSync(vol);
  });

  test('ratime, rnoatime, rstrictatime, rnostrictatime, rrelatime, rnorelatime: top and submount as runc', () => {
    const opts = ['ratime', 'rnoatime', 'rstrictatime', 'rnostrictatime', 'rrelatime', 'rnorelatime'];
    const r = run('grep " /mnt" /proc/self/mounts | cut -d" " -f2,4 | cut -d, -f1,2', (s) => {
      opts.forEach((o, i) => s.mounts.push({ source: vol, destination: `/mnt${i + 1}`, options: ['rbind', o] }));
    });
    expect(r.stderr).toBe('');
    const want = ['rw,relatime', 'rw,noatime', 'rw', 'rw,relatime', 'rw,relatime', 'rw,relatime'];
    const got = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ')));
    opts.forEach((o, i) => {
      for (const mp of [`/mnt${i + 1}`, `/mnt${i + 1}/subvol`]) {
        // strictatime shows no atime option: keep only the atime part
        const atime = (got[mp] ?? '').split(',').filter((x: string) => x === 'rw' || x.endsWith('atime')).join(',');
        expect([o, mp, atime]).toEqual([o, mp, want[i]]);
      }
    });
  });

  test('rbind,ro is read-only at the top only; rro and ro,rro recursively', () => {
    const r = run('for m in ro rro rorro; do touch /$m/foo 2>/dev/null && echo $m/foo ok || echo $m/foo ro; touch /$m/subvol/bar 2>/dev/null && echo $m/sub ok || echo $m/sub ro; done', (s) => {
      s.mounts.push({ source: vol, destination: '/ro', options: ['rbind', 'ro'] });
      s.mounts.push({ source: vol, destination: '/rro', options: ['rbind', 'rro'] });
      s.mounts.push({ source: vol, destination: '/rorro', options: ['rbind', 'ro', 'rro'] });
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['ro/foo ro', 'ro/sub ok', 'rro/foo ro', 'rro/sub ro', 'rorro/foo ro', 'rorro/sub ro']);
  });
});

describe('mount order: binds whose source is inside the rootfs, beneath earlier mounts (runc mounts.bats)', () => {
  const USERNS = {
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
  };
  /** runc's test_mount_order: a tree of binds, then binds of parts of it, then all of it on /final. */
  function mountOrder(userns: boolean, idmap: boolean) {
    return run('cat /final/x/y/z/z/x/y/z/x/file', (s) => {
      if (userns) {
        s.linux.namespaces.push({ type: 'user' });
        Object.assign(s.linux, USERNS);
      }
    }, (rootfs, bundle) => {
      const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
      const src = path.join(bundle, 'bind-src');
      for (const sub of ['a/x', 'b/y', 'c/z']) {
        fs.mkdirSync(path.join(src, sub), { recursive: true });
        fs.writeFileSync(path.join(src, sub, 'file'), `${sub}\n`);
        const top = path.dirname(sub);
        fs.symlinkSync(top, path.join(src, `sym-${top}`));
      }
      fs.chmodSync(src, 0o750); // with a user namespace: reachable only through stage0's fds
      fs.mkdirSync(path.join(rootfs, 'mnt'));
      fs.mkdirSync(path.join(rootfs, 'final'));
      const add = (source: string, destination: string, opts = 'rbind') => {
        const m: Record<string, any> = { source, destination, type: 'bind', options: [...opts.split(','), 'rprivate'] };
        if (opts.includes('idmap')) Object.assign(m, USERNS);
        spec.mounts.push(m);
      };
      add(`${src}/a`, '/mnt');
      add(`${src}/sym-b`, '/mnt/x');
      add(`${src}/c`, '/mnt/x/y');
      add(`${src}/sym-a`, '/mnt/x/y/z');
      const ctr = idmap ? 'rbind,idmap' : 'rbind';
      add(`${rootfs}/mnt/x`, `${rootfs}/mnt/x/y/z/x`, ctr); // destinations as host paths: runc strips the rootfs
      add(`${rootfs}/mnt/x/y`, `${rootfs}/mnt/x/y/z`, ctr);
      add(`${rootfs}/mnt`, `${rootfs}/final`, ctr);
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      if (userns) execFileSync('chown', ['-R', '100000:100000', rootfs]);
    });
  }

  test.each([
    ['plain', false, false],
    ['with a user namespace', true, false],
    ['id-mapped container sources', false, true],
  ])('%s: the whole tree lands on /final in order', (_name, userns, idmap) => {
    const r = mountOrder(userns, idmap);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('a/x\n');
  });

  test('id-mapped container sources inside a user namespace: the kernel\'s refusal, one line, exit 1', () => {
    const r = mountOrder(true, true);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('idmapped mount: mount_setattr(MOUNT_ATTR_IDMAP) of ');
    expect(r.stderr).toContain('operation not permitted');
  });
});

describe('bind mount flags: "mount --bind -o" semantics, locked flags in a user namespace (runc mounts_sshfs.bats, tmpfs fallback)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-bundle-flags-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'rw,suid,dev,exec,diratime,strictatime', 'tmpfs', dir]);
  });
  afterAll(() => {
    execFileSync('umount', [dir]);
    fs.rmdirSync(dir);
  });

  /** The host mount gets exactly `host` (per-mount flags), then the container binds it with `bind`. */
  function flagsOf(host: string, bind: string, userns: boolean) {
    execFileSync('mount', ['--bind', '-o', 'remount,rw,suid,dev,exec,symfollow,diratime,atime,strictatime', dir]);
    execFileSync('mount', ['--bind', '-o', `remount,${host}`, dir]);
    const r = run('grep " /mnt " /proc/self/mounts | cut -d" " -f4', (s) => {
      s.mounts.push({ source: dir, destination: '/mnt', type: 'bind', options: bind.split(',') });
      if (userns) {
        s.linux.namespaces.push({ type: 'user' });
        s.linux.uidMappings = [{ hostID: 100000, containerID: 0, size: 65534 }];
        s.linux.gidMappings = [{ hostID: 100000, containerID: 0, size: 65534 }];
      }
    }, (rootfs) => { if (userns) execFileSync('chown', ['-R', '100000:100000', rootfs]); });
    return { ...r, flags: r.stdout.trim().split(',') };
  }

  test.each([
    // host flags, bind options, user namespace, flags present, flags absent
    ['ro,noexec,nosymfollow,nodiratime', 'bind', false, ['ro', 'noexec', 'nodiratime', 'nosymfollow'], ['rw']],
    ['ro,noexec,nosymfollow,nodiratime', 'bind', true, ['ro', 'noexec', 'nodiratime'], ['rw']],
    ['ro,noexec,nosymfollow,nodiratime', 'bind,dev', false, ['rw', 'nodiratime'], ['ro', 'noexec', 'nosymfollow']],
    ['ro,noexec,nosymfollow,nodiratime', 'bind,dev', true, ['ro', 'noexec', 'nodiratime'], ['rw', 'nosymfollow']],
    ['ro', 'bind,nosuid,nodev,rprivate', false, ['rw', 'nosuid', 'nodev'], ['ro']],
    ['ro', 'bind,nosuid,nodev,rprivate', true, ['ro', 'nosuid', 'nodev'], ['rw']],
    ['rw,nodev,nosuid,noexec,noatime', 'bind,ro', true, ['ro', 'nosuid', 'nodev', 'noexec'], ['rw']],
    ['noatime,nodiratime', 'bind,norelatime', true, ['noatime', 'nodiratime'], []],
  ])('host %s, %s (userns: %s)', (host, bind, userns, present, absent) => {
    const r = flagsOf(host, bind, userns);
    expect(r.stderr).toBe('');
    for (const f of present) expect(r.flags).toContain(f);
    for (const f of absent) expect(r.flags).not.toContain(f);
  });

  test.each([
    ['ro', 'bind,rw,nosuid,nodev,rprivate', 'cannot clear locked flags ro'],
    ['nodev,nosuid,noatime', 'bind,dev,suid,exec,atime', 'cannot clear locked flags nosuid,nodev,noatime'],
    ['relatime', 'bind,strictatime', 'cannot change locked atime flags relatime'],
    ['strictatime', 'bind,noatime', 'cannot change locked atime flags strictatime'],
  ])('in a user namespace, host %s, %s: refused with one line, exit 1', (host, bind, why) => {
    const r = flagsOf(host, bind, true);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `tsoci: error mounting "${dir}" to rootfs at "/mnt": ${why}: operation not permitted (EPERM)`,
    ]);
  });
});
