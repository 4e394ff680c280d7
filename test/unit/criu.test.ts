import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeResp, encodeReq, ReqType } from '../../src/criu/messages';
import { createMountPoints, externalMounts } from '../../src/criu/mounts';
import { criuLogSummary, stdioInheritFds, DESCRIPTORS_FILE } from '../../src/criu/images';
import { compareVersions, findCriu } from '../../src/criu/binary';
import { checkCgroupsMode, emptyNsMask } from '../../src/criu';
import type { Spec } from '../../src/spec/types';
import type { CgroupHost } from '../../src/cgroups';

// The pure parts of src/criu: wire bytes at rpc.proto's field numbers, the mounts declared
// external, descriptors.json, the log summary, finding the binary.
describe('CRIU RPC messages', () => {
  test('a request encodes with rpc.proto field numbers', () => {
    expect(encodeReq({ type: ReqType.VERSION }).toString('hex')).toBe('080a');
    // criu_req.type=1, opts(2){images_dir_fd(1)=5, ext_mnt(23){key "/a", val "/b"}, manage_cgroups_mode(34)=3}
    expect(encodeReq({ type: ReqType.DUMP, opts: { imagesDirFd: 5, extMnt: [{ key: '/a', val: '/b' }], manageCgroupsMode: 3 } }).toString('hex'))
      .toBe('080112100805ba01080a022f6112022f62900203');
    // type=2, opts{images_dir_fd=3, rst_sibling(26)=1, inherit_fd(27){key(1) "pipe:[1]", fd(2)=0}}: fields by number
    expect(encodeReq({ type: ReqType.RESTORE, opts: { imagesDirFd: 3, rstSibling: true, inheritFd: [{ key: 'pipe:[1]', fd: 0 }] } }).toString('hex'))
      .toBe('08021214' + '0803' + 'd00101' + 'da010c' + '0a08' + Buffer.from('pipe:[1]').toString('hex') + '1000');
  });

  test('responses decode: success, notify with pid, version, errno', () => {
    // type=6 success=1 notify(5){script(1)"post-restore" pid(2)=42}
    const notify = Buffer.from([0x08, 0x06, 0x10, 0x01, 0x2a, 0x10, 0x0a, 0x0c, ...Buffer.from('post-restore'), 0x10, 0x2a]);
    expect(decodeResp(notify)).toMatchObject({ type: 6, success: true, notify: { script: 'post-restore', pid: 42 } });
    // type=10 success=1 version(10){major 4, minor 1, sublevel(4) 1}
    const version = Buffer.from([0x08, 0x0a, 0x10, 0x01, 0x52, 0x06, 0x08, 0x04, 0x10, 0x01, 0x20, 0x01]);
    expect(decodeResp(version).version).toMatchObject({ majorNumber: 4, minorNumber: 1, sublevel: 1 });
    // type=1 success=0 cr_errno(7)=2, and an unknown field (99, varint) skipped
    const failed = Buffer.from([0x08, 0x01, 0x10, 0x00, 0x38, 0x02, 0x98, 0x06, 0x01]);
    expect(decodeResp(failed)).toMatchObject({ type: 1, success: false, crErrno: 2 });
  });
});

describe('external mounts (runc\'s declarations)', () => {
  const spec = {
    ociVersion: '1.3.0',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/data/', type: 'bind', source: '/srv/data', options: ['rbind'] },
      { destination: '/etc/hosts', source: '/tmp/hosts', options: ['bind', 'ro'] },
    ],
    linux: { maskedPaths: ['/proc/kcore', '/proc/acpi'], devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] },
  } as unknown as Spec;

  test('dump: mount point as key and value; masked files to /dev/null; devices', () => {
    const m = externalMounts(spec, {}, { dump: true, maskedFileExists: (p) => p === '/proc/kcore' });
    expect(m).toEqual(expect.arrayContaining([
      { key: '/data', val: '/data' }, { key: '/etc/hosts', val: '/etc/hosts' }, { key: '/proc/kcore', val: '/dev/null' },
      { key: '/dev/null', val: '/dev/null' }, { key: '/dev/fuse', val: '/dev/fuse' },
    ]));
    expect(m.find((e) => e.key === '/proc/acpi')).toBeUndefined();
    expect(m.find((e) => e.key === '/proc')).toBeUndefined();
  });

  test('restore: mount point to host source; /dev/null once for the masked paths', () => {
    const m = externalMounts(spec, {}, { dump: false });
    expect(m).toEqual(expect.arrayContaining([{ key: '/data', val: '/srv/data' }, { key: '/etc/hosts', val: '/tmp/hosts' }, { key: '/dev/null', val: '/dev/null' }]));
  });

  test('a cgroup mount on a v1 host: one bind per hierarchy, restored from the new cgroup directories', () => {
    const host: CgroupHost = {
      mode: 'v1',
      v1: [{ mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'], root: '/' }, { mountPoint: '/sys/fs/cgroup/pids', controllers: ['pids'], root: '/' }],
    } as unknown as CgroupHost;
    const cg = { ...spec, mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] }] } as unknown as Spec;
    const paths = { memory: '/sys/fs/cgroup/memory/new', pids: '/sys/fs/cgroup/pids/new' };
    const dump = externalMounts(cg, paths, { dump: true, maskedFileExists: () => false }, host);
    expect(dump.filter((e) => e.key.startsWith('/sys/fs/cgroup'))).toEqual([
      { key: '/sys/fs/cgroup/memory', val: '/sys/fs/cgroup/memory' }, { key: '/sys/fs/cgroup/pids', val: '/sys/fs/cgroup/pids' },
    ]);
    const restore = externalMounts(cg, paths, { dump: false }, host);
    expect(restore.filter((e) => e.key.startsWith('/sys/fs/cgroup'))).toEqual([
      { key: '/sys/fs/cgroup/memory', val: '/sys/fs/cgroup/memory/new' }, { key: '/sys/fs/cgroup/pids', val: '/sys/fs/cgroup/pids/new' },
    ]);
  });
});

describe('images: descriptors.json and CRIU\'s log', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-unit-criu-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('pipes become inherit_fd entries at their fd number; other files do not', () => {
    fs.writeFileSync(path.join(dir, DESCRIPTORS_FILE), JSON.stringify(['/dev/null', 'pipe:[123]', 'pipe:[456]']));
    expect(stdioInheritFds(dir)).toEqual([{ key: 'pipe:[123]', fd: 1 }, { key: 'pipe:[456]', fd: 2 }]);
  });

  test('a missing or malformed descriptors.json is one clear error', () => {
    expect(() => stdioInheritFds(dir)).toThrow(/restore: read .*descriptors\.json: no such file or directory/);
    fs.writeFileSync(path.join(dir, DESCRIPTORS_FILE), '{"a":1}');
    expect(() => stdioInheritFds(dir)).toThrow(/not a checkpoint image \(expected an array of strings\)/);
    fs.writeFileSync(path.join(dir, DESCRIPTORS_FILE), 'nonsense');
    expect(() => stdioInheritFds(dir)).toThrow(/not a checkpoint image/);
  });

  test('the log summary is the first real error, not the rlimit warning or the final FAILED', () => {
    const log = path.join(dir, 'dump.log');
    fs.writeFileSync(log, [
      '(00.001) Version: 4.1.1',
      "(00.049522) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
      '(00.183354) Error (criu/cr-dump.c:1664): A session leader of 25244(1) is outside of its pid namespace',
      '(00.200000) Error (criu/cr-dump.c:1681): Dump files (pid: 1) failed with -1',
      '(00.279425) Error (criu/cr-dump.c:2111): Dumping FAILED.',
    ].join('\n'));
    expect(criuLogSummary(log)).toBe(`${log}: Error (criu/cr-dump.c:1664): A session leader of 25244(1) is outside of its pid namespace`);
    expect(criuLogSummary(path.join(dir, 'none.log'))).toBe(`see ${path.join(dir, 'none.log')}`);
  });
});

describe('finding CRIU and checking flags', () => {
  const saved = { cache: process.env.TSOCI_CRIU_CACHE, path: process.env.PATH };
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-unit-criu-'))));
  afterEach(() => {
    process.env.TSOCI_CRIU_CACHE = saved.cache;
    process.env.PATH = saved.path;
    if (saved.cache === undefined) delete process.env.TSOCI_CRIU_CACHE;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const exe = (p: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, '#!/bin/sh\n', { mode: 0o755 });
  };

  test('--criu, then the newest cached build, then $PATH', () => {
    process.env.TSOCI_CRIU_CACHE = path.join(dir, 'cache');
    process.env.PATH = path.join(dir, 'bin');
    expect(() => findCriu()).toThrow(/criu not found \(looked in .*cache\/<version>\/criu and \$PATH\)/);
    exe(path.join(dir, 'bin', 'criu'));
    expect(findCriu()).toBe(path.join(dir, 'bin', 'criu'));
    exe(path.join(dir, 'cache', '3.19', 'criu'));
    exe(path.join(dir, 'cache', '4.1.1', 'criu'));
    exe(path.join(dir, 'cache', '4.0', 'criu'));
    expect(findCriu()).toBe(path.join(dir, 'cache', '4.1.1', 'criu'));
    expect(findCriu(path.join(dir, 'bin', 'criu'))).toBe(path.join(dir, 'bin', 'criu'));
    expect(() => findCriu(path.join(dir, 'nope'))).toThrow(/nope: not found or not executable \(--criu\)/);
  });

  test('versions compare numerically', () => {
    expect(compareVersions([3, 17, 1], [3, 19])).toBeLessThan(0);
    expect(compareVersions([3, 19], [3, 19, 0])).toBe(0);
    expect(compareVersions([4, 1, 1], [3, 19])).toBeGreaterThan(0);
  });

  test('runc\'s --manage-cgroups-mode values and --empty-ns network', () => {
    for (const m of ['soft', 'full', 'strict', 'ignore', '', undefined]) expect(() => checkCgroupsMode(m)).not.toThrow();
    expect(() => checkCgroupsMode('props')).toThrow('invalid manage-cgroups-mode value');
    expect(emptyNsMask()).toBe(0x40000000);
    expect(emptyNsMask(['network'])).toBe(0x40000000);
    expect(() => emptyNsMask(['pid'])).toThrow('namespace "pid" is not supported');
  });
});

describe('mount points made before a restore', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-unit-criu-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('directories and files for bind mounts; nothing below a tmpfs, for cgroup, or through a symlink', () => {
    const root = path.join(dir, 'rootfs');
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(root);
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, path.join(root, 'link'));
    const hostFile = path.join(dir, 'hosts');
    fs.writeFileSync(hostFile, '');
    const spec = {
      ociVersion: '1.3.0',
      mounts: [
        { destination: '/data/sub', type: 'bind', source: dir, options: ['rbind'] },
        { destination: '/etc/hosts', type: 'bind', source: hostFile, options: ['rbind'] },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
        { destination: '/dev/shm', type: 'tmpfs', source: 'shm' },
        { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup' },
        { destination: '/link/escape', type: 'bind', source: dir, options: ['rbind'] },
      ],
    } as unknown as Spec;
    createMountPoints(root, spec);
    expect(fs.statSync(path.join(root, 'data/sub')).isDirectory()).toBe(true);
    expect(fs.statSync(path.join(root, 'etc/hosts')).isFile()).toBe(true);
    expect(fs.statSync(path.join(root, 'dev')).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(root, 'dev/shm'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'sys'))).toBe(false);
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});
