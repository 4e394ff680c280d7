import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run } from '../helpers/mount-run';
import { deleteAll } from '../helpers/tsoci';

// runc's mounts_recursive.bats, the "mount order" cases of mounts.bats and mounts_sshfs.bats
// (on a tmpfs, as its fallback): recursive attributes, bind sources inside the rootfs,
// "mount --bind -o" flag semantics and flags locked in a user namespace.

afterEach(() => deleteAll());

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
      `error mounting "${dir}" to rootfs at "/mnt": ${why}: operation not permitted (EPERM)`,
    ]);
  });
});
