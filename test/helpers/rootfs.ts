import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'ls', 'cat', 'echo', 'true', 'false', 'id', 'hostname', 'mount', 'readlink', 'stat', 'sleep',
  'ps', 'env', 'pwd', 'grep', 'touch', 'mkdir', 'rm', 'ln', 'wc', 'head', 'kill', 'umask', 'ulimit', 'test', 'uname',
  'domainname', 'dd', 'chmod', 'sed', 'tr', 'date', 'nproc', 'cut', 'sysctl', 'find', 'mknod', 'unshare', 'nsenter'];

/** A minimal busybox-static root filesystem in a fresh temp dir. */
export function makeRootfs(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(bin, 'busybox'));
  fs.chmodSync(path.join(bin, 'busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(bin, a));
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'usr/bin', 'sbin']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  fs.writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  return dir;
}

/** A bundle dir (config.json + rootfs/) under os.tmpdir(); the name says "bundle" so leak checks can find it. */
export function makeBundle(spec: object, prefix = 'tsoci-bundle-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  makeRootfs(path.join(dir, 'rootfs'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

export function removeBundle(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
