import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, tsoci, uniqueId } from '../helpers/tsoci';

// Without no_new_privs the filter goes in before the uid/caps switch, while tsoci-init
// still has work to do. Profiles older than faccessat2/close_range deny them with EPERM
// (glibc falls back only on ENOSYS): the init must not need them after the load.
afterEach(() => deleteAll());

test.each([false, true])('a profile denying faccessat2, faccessat, access and close_range (noNewPrivileges %s)', (nnp) => {
  const spec = testSpec(['sh', '-c', 'echo ran; ls /proc/self/fd | wc -l']);
  spec.process.noNewPrivileges = nnp;
  spec.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64'],
    syscalls: [{ names: ['faccessat2', 'faccessat', 'access', 'close_range'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
  const bundle = makeBundle(spec);
  try {
    const r = tsoci(['run', '--bundle', bundle, uniqueId('scorder')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // "ran", and only fds 0-2 plus the one ls holds: every other fd was closed without close_range
    expect(r.stdout.split('\n').map((l) => l.trim())).toEqual(['ran', '4', '']);
  } finally {
    removeBundle(bundle);
  }
});
