import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { snapshot } from '../helpers/leaks';
import { leftovers, mode, run, tmpfs, type Prepare } from '../helpers/mount-run';
import { deleteAll, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';

// The cases of runc's tests/integration/mounts.bats and mask.bats, as a runc user sees
// them: /proc and /sys on symlinks refused, nothing over or in /proc but procfs and
// lxcfs's files, tmpfs modes, tmpcopyup, destinations through dangling symlinks, ro tmpfs
// and /dev, binds of a file, masked paths. Bind-mount specifics: bind-mounts.test.ts.

afterEach(() => deleteAll());

describe('rootfs safety: /proc and /sys must be mounted on ordinary directories (CVE-2019-19921, CVE-2023-27561)', () => {
  test.each([
    ['/proc is a symlink', 'proc', (r: string) => fs.symlinkSync('/bad-proc', path.join(r, 'proc'))],
    ['/proc is a symlink to a path that does not exist', 'proc', (r: string) => fs.symlinkSync('/symlink', path.join(r, 'proc'))],
    ['/proc is a regular file', 'proc', (r: string) => fs.writeFileSync(path.join(r, 'proc'), '')],
    ['/sys is a symlink', 'sysfs', (r: string) => fs.symlinkSync('/bad-proc', path.join(r, 'sys'))],
    // without a network namespace of its own the container gets a bind of the host's /sys instead
    ['/sys is a symlink, no network namespace (sysfs replaced by a bind)', 'sysfs', (r: string) => fs.symlinkSync('/bad-proc', path.join(r, 'sys'))],
  ])('%s: refused with runc\'s message, exit 1, nothing mounted or left behind', (name, fsType, plant) => {
    const spec = testSpec(['true']);
    if (name.includes('no network namespace')) spec.linux.namespaces = spec.linux.namespaces.filter((n: any) => n.type !== 'network');
    const bundle = makeBundle(spec);
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
        `error mounting "${name.includes('no network namespace') ? '/sys' : fsType}" to rootfs at "/${dir}": filesystem "${fsType}" must be mounted on ordinary directory`,
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
      expect(lines[0]).toMatch(new RegExp(`^error mounting "${mount.source}" to rootfs at "${mount.destination}": "/`));
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
