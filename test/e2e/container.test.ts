import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId } from '../helpers/tsoci';

// What the container sees from the inside, checked with busybox in a real container.
function runScript(script: string, edit: (spec: Record<string, any>) => void = () => undefined, prepare?: (bundle: string) => void) {
  const spec = testSpec(['sh', '-c', script]);
  edit(spec);
  const bundle = makeBundle(spec);
  // a mapped container root must be able to reach its rootfs
  fs.chmodSync(bundle, 0o755);
  try {
    prepare?.(bundle);
    const r = tsoci(['run', '--bundle', bundle, uniqueId('in')]);
    return { ...r, bundle };
  } finally {
    removeBundle(bundle);
  }
}

const NS = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup', 'user', 'time'];
const hostNs = (n: string) => fs.readlinkSync(`/proc/self/ns/${n}`);

afterEach(() => deleteAll());

describe('namespaces', () => {
  test('every namespace type can be created: inodes differ from the host', () => {
    const r = runScript(NS.map((n) => `echo ${n}=$(readlink /proc/self/ns/${n})`).join('; '), (s) => {
      s.linux.namespaces = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
        { type: 'cgroup' }, { type: 'user' }, { type: 'time' }];
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const n of NS) {
      const inside = new RegExp(`^${n}=(.*)$`, 'm').exec(r.stdout)?.[1];
      expect(inside).toMatch(new RegExp(`^${n}:\\[\\d+\\]$`));
      expect(inside).not.toBe(hostNs(n));
    }
  });

  test('a namespace given by path is joined: the inode equals the target', () => {
    const name = uniqueId('tsoci-netns');
    execFileSync('ip', ['netns', 'add', name]);
    try {
      const want = execFileSync('ip', ['netns', 'exec', name, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
      const r = runScript('readlink /proc/self/ns/net; readlink /proc/self/ns/uts', (s) => {
        s.linux.namespaces = s.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${name}` } : n));
      });
      expect(r.stderr).toBe('');
      const [net, uts] = r.stdout.trim().split('\n');
      expect(net).toBe(want);
      expect(uts).not.toBe(hostNs('uts'));
    } finally {
      execFileSync('ip', ['netns', 'delete', name]);
    }
  });

  test('PID 1 inside, hostname and domainname set', () => {
    const r = runScript('echo pid=$$; hostname; cat /proc/sys/kernel/domainname', (s) => {
      s.domainname = 'example.org';
    });
    expect(r.stdout).toBe('pid=1\ntsoci-test\nexample.org\n');
  });

  test('user namespace: uid/gid maps as configured, root inside maps to the host id', () => {
    const r = runScript('cat /proc/self/uid_map /proc/self/gid_map; id -u', (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 1000 }];
    });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    expect(lines).toEqual(['0 100000 65536', '0 200000 1000', '0']);
  });

  test('time namespace offsets shift CLOCK_BOOTTIME inside', () => {
    const hostUptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const r = runScript('cut -d" " -f1 /proc/uptime', (s) => {
      s.linux.namespaces.push({ type: 'time' });
      s.linux.timeOffsets = { boottime: { secs: 86400 * 365, nanosecs: 0 } };
    });
    expect(r.stderr).toBe('');
    expect(Number(r.stdout.trim())).toBeGreaterThan(hostUptime + 86400 * 364);
  });

  test('linux.sysctl is applied inside the container namespaces only', () => {
    const host = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
    const want = host === '1' ? '0' : '1';
    const r = runScript('cat /proc/sys/net/ipv4/ip_forward', (s) => {
      s.linux.sysctl = { 'net.ipv4.ip_forward': want };
    });
    expect(r.stdout.trim()).toBe(want);
    expect(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(host);
  });
});

describe('rootfs and mounts', () => {
  const mountLine = (out: string, mp: string) => out.split('\n').find((l) => l.split(' ')[4] === mp);

  test('spec mounts appear with their flags; missing mount points are created; root is pivoted', () => {
    const r = runScript('cat /proc/self/mountinfo; ls -d /mnt/made/here', (s) => {
      s.mounts.push({ destination: '/mnt/made/here', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'size=1m'] });
    });
    expect(r.stderr).toBe('');
    const out = r.stdout;
    expect(mountLine(out, '/')).toBeDefined();
    expect(mountLine(out, '/proc')).toMatch(/ - proc /);
    expect(mountLine(out, '/sys')).toMatch(/\bro\b.* - sysfs /);
    expect(mountLine(out, '/dev')).toMatch(/nosuid.* - tmpfs /);
    expect(mountLine(out, '/dev/pts')).toMatch(/ - devpts /);
    expect(mountLine(out, '/dev/mqueue')).toMatch(/ - mqueue /);
    expect(mountLine(out, '/mnt/made/here')).toMatch(/nosuid,.*noexec.* - tmpfs /);
    expect(out).toContain('/mnt/made/here\n');
    // nothing of the host's tree is visible: the old root is gone after pivot_root
    expect(out).not.toMatch(/ \/sys\/fs\/cgroup\/memory /);
  });

  test('bind mounts, read-only binds, and a readonly root', () => {
    const r = runScript('cat /data/hello; touch /data/new && echo rw-bind-writable; touch /ro/x 2>/dev/null || echo ro-bind-refused; touch /x 2>/dev/null || echo root-readonly', (s) => {
      s.root.readonly = true;
      s.mounts.push({ destination: '/data', type: 'bind', source: 'data', options: ['rbind'] });
      s.mounts.push({ destination: '/ro', type: 'bind', source: 'data', options: ['bind', 'ro'] });
    }, (b) => {
      fs.mkdirSync(path.join(b, 'data'));
      fs.writeFileSync(path.join(b, 'data/hello'), 'hi\n');
    });
    expect(r.stdout).toBe('hi\nrw-bind-writable\nro-bind-refused\nroot-readonly\n');
  });

  test('a mount destination that is a symlink out of the rootfs stays inside the rootfs', () => {
    const outside = fs.mkdtempSync('/tmp/tsoci-outside-');
    try {
      const r = runScript('grep " /escape " /proc/self/mountinfo | wc -l; ls /escape', (s) => {
        s.mounts.push({ destination: '/escape/inner', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
      }, (b) => {
        fs.symlinkSync(outside, path.join(b, 'rootfs/escape'));
      });
      expect(r.status).toBe(0);
      // the host directory the symlink names got nothing
      expect(fs.readdirSync(outside)).toEqual([]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test('masked paths are unreadable, readonly paths unwritable', () => {
    const r = runScript('cat /proc/keys 2>&1 | wc -c; ls /proc/acpi 2>&1 | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sys-ro; echo x > /proc/sysrq-trigger 2>/dev/null || echo sysrq-ro');
    expect(r.stdout.trim().split('\n')).toEqual(['0', '0', 'sys-ro', 'sysrq-ro']);
  });

  test('default devices and linux.devices exist with the right numbers; /dev links', () => {
    const r = runScript('for d in null zero full random urandom tty fuse2; do stat -c "%n %F %t:%T %a" /dev/$d; done; for l in fd stdin ptmx; do readlink /dev/$l; done', (s) => {
      s.linux.devices = [{ path: '/dev/fuse2', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 }];
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe([
      '/dev/null character special file 1:3 666', '/dev/zero character special file 1:5 666',
      '/dev/full character special file 1:7 666', '/dev/random character special file 1:8 666',
      '/dev/urandom character special file 1:9 666', '/dev/tty character special file 5:0 666',
      '/dev/fuse2 character special file a:e5 600', '/proc/self/fd', '/proc/self/fd/0', 'pts/ptmx', ''].join('\n'));
  });

  test('devices in a user namespace are bind-mounted from the host', () => {
    const r = runScript('echo hi > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c', (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('null-ok\n4\n');
  });
});

describe('process', () => {
  test('args, env, cwd, user with additional gids, umask', () => {
    const r = runScript('echo "$FOO"; pwd; id; umask', (s) => {
      s.process.env.push('FOO=bar baz');
      s.process.cwd = '/tmp';
      s.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534], umask: 0o027 };
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('bar baz\n/tmp\nuid=1000 gid=1000 groups=5(tty),65534(nogroup)\n0027\n');
  });

  test('PATH lookup happens inside the container', () => {
    const r = runScript('true', (s) => {
      s.process.args = ['hostname'];
    });
    expect(r.stdout).toBe('tsoci-test\n');
  });

  test('capabilities: all five sets as configured (root and non-root)', () => {
    const caps = (out: string) => Object.fromEntries(out.trim().split('\n').map((l) => l.split(':\t')));
    const r = runScript('grep ^Cap /proc/self/status');
    expect(caps(r.stdout)).toEqual({ CapInh: '0000000000000000', CapPrm: '0000000020000420', CapEff: '0000000020000420', CapBnd: '0000000020000420', CapAmb: '0000000000000000' });
    const r2 = runScript('grep ^Cap /proc/self/status', (s) => {
      s.process.user = { uid: 1000, gid: 1000 };
      s.process.noNewPrivileges = false;
      s.process.capabilities = { bounding: ['CAP_KILL', 'CAP_NET_RAW'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] };
    });
    expect(caps(r2.stdout)).toEqual({ CapInh: '0000000000000020', CapPrm: '0000000000000020', CapEff: '0000000000000020', CapBnd: '0000000000002020', CapAmb: '0000000000000020' });
  });

  test('rlimits, noNewPrivileges, oomScoreAdj', () => {
    const r = runScript('ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj', (s) => {
      s.process.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 2048, soft: 512 }];
      s.process.oomScoreAdj = 123;
    });
    expect(r.stdout.replace(/\t/g, ' ')).toBe('512\n2048\nNoNewPrivs: 1\n123\n');
  });

  test('signals are reset and the mask cleared; only fds 0-2 are open', () => {
    const r = runScript('grep -E "^Sig(Blk|Ign)" /proc/self/status; ls /proc/self/fd | sort -n | tr "\\n" " "');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('SigBlk:\t0000000000000000');
    expect(lines[1]).toBe('SigIgn:\t0000000000000000');
    // 0-2, plus the fd ls itself has open on /proc/self/fd
    expect(lines[2].trim().split(' ').map(Number).filter((n) => n > 3)).toEqual([]);
  });
});
