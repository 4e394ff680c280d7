import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { which } from '../helpers/clients';
import { deleteAll, uniqueId, REPO, TEST_ROOT } from '../helpers/tsoci';

// The npm package as a user gets it: `npm pack` (prepack bundles dist/), then a global install
// into a temp prefix builds the addon, tsoci-init and the launcher on this host. The installed
// bin/tsoci runs with a PATH that has no usable node (as containerd's shim starts BinaryName):
// the launcher execs the Node it was built with by absolute path.

const npm = which('npm');
const describeNpm = npm ? describe : describe.skip;
if (!npm) console.log('npm-package: skipped, no npm on PATH');

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 60000, maxBuffer: 64 << 20 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

describeNpm('npm package', () => {
  let tmp: string;
  let tarball: string;
  /** a PATH whose only node fails loudly: using it would show */
  let fakeBin: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-npm-'));
    fakeBin = path.join(tmp, 'fakebin');
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(path.join(fakeBin, 'node'), '#!/bin/sh\necho "fake node on PATH was run" >&2\nexit 99\n', { mode: 0o755 });
    const packed = sh(npm!, ['pack', '--pack-destination', tmp], { cwd: REPO, timeoutMs: 300000 });
    expect(packed.status).toBe(0);
    tarball = path.join(tmp, fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'))!);
  }, 320000);
  afterAll(() => {
    deleteAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball carries the bundle and the sources to build; bin/tsoci is a stand-in the install replaces', () => {
    const list = sh('tar', ['tzf', tarball]).stdout.split('\n');
    for (const f of ['bin/loader.js', 'dist/tsoci.js', 'dist/systemd-dbus.js', 'CMakeLists.txt', 'cpp/launcher/main.cc', 'scripts/install-native.mjs']) {
      expect(list).toContain(`package/${f}`);
    }
    const standIn = sh('tar', ['xzf', tarball, '-O', 'package/bin/tsoci']).stdout;
    expect(standIn).toMatch(/^#!\/bin\/sh\n/);
    expect(standIn).toContain('tsoci: not built');
    expect(list.filter((f) => f.startsWith('package/build/') || f.endsWith('.node'))).toEqual([]);
  });

  test('npm install -g into a prefix gives a working tsoci, without node on its PATH', () => {
    const prefix = path.join(tmp, 'prefix');
    const inst = sh(npm!, ['install', '-g', '--prefix', prefix, '--allow-scripts=tsoci', '--no-audit', '--no-fund', tarball], { timeoutMs: 900000 });
    expect(inst.out).not.toContain('cannot build');
    expect(inst.status).toBe(0);
    const bin = path.join(prefix, 'bin', 'tsoci');
    expect(fs.readFileSync(bin).subarray(0, 4).toString('latin1')).toBe('\x7fELF'); // the native launcher
    const env = { PATH: fakeBin };
    const version = sh(bin, ['--version'], { env });
    expect(version.out).toMatch(/^tsoci version \d+\.\d+\.\d+\n/);
    expect(version.status).toBe(0);

    const specDir = path.join(tmp, 'spec');
    fs.mkdirSync(specDir);
    expect(sh(bin, ['spec', '--bundle', specDir], { env }).status).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(specDir, 'config.json'), 'utf8')).ociVersion).toBeDefined();

    const bundle = makeBundle(testSpec(['sh', '-c', 'echo installed-tsoci-ran']));
    try {
      const r = sh('env', ['-i', `PATH=${fakeBin}`, bin, '--root', TEST_ROOT, 'run', '--bundle', bundle, uniqueId('npm')]);
      expect(r.out).toBe('installed-tsoci-ran\n');
      expect(r.status).toBe(0);
    } finally {
      removeBundle(bundle);
    }
  }, 960000);

  test('without the build tools the install fails with one line naming them', () => {
    const onlyNode = path.join(tmp, 'onlynode');
    fs.mkdirSync(onlyNode);
    fs.symlinkSync(process.execPath, path.join(onlyNode, 'node'));
    fs.symlinkSync('/bin/sh', path.join(onlyNode, 'sh')); // npm runs the install script with sh
    const inst = sh(npm!, ['install', '-g', '--prefix', path.join(tmp, 'prefix2'), '--allow-scripts=tsoci', '--no-audit', '--no-fund', tarball], {
      env: { ...process.env, PATH: onlyNode },
      timeoutMs: 600000,
    });
    expect(inst.status).not.toBe(0);
    expect(inst.out).toContain('tsoci: cannot build its native parts: missing cmake (Debian: cmake), a C++17 compiler (Debian: build-essential)');
  }, 660000);
});
