/**
 * runc's -ENOSYS stub (libcontainer/seccomp/patchbpf), compiled by the addon in front of
 * libseccomp's filter: a syscall number above the largest one the profile names gets
 * -ENOSYS (so libc falls back from a syscall newer than the profile), unless the default
 * action allows. The filters run here in a small classic-BPF interpreter.
 */
import { compileInput } from '../../src/seccomp/profile';
import { compileSeccomp } from '../../src/seccomp';

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const X32_BIT = 0x40000000;
const RET_ALLOW = 0x7fff0000;
const errno = (e: number) => (0x00050000 | e) >>> 0;
const ENOSYS = 38;
const EPERM = 1;

/** Runs a classic BPF seccomp filter on seccomp_data {nr, arch, args all 0}. */
function runFilter(bpf: Buffer, nr: number, arch = AUDIT_ARCH_X86_64): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  let a = 0;
  for (let pc = 0, steps = 0; steps < 10000; steps++) {
    const code = bpf.readUInt16LE(pc * 8);
    const jt = bpf.readUInt8(pc * 8 + 2);
    const jf = bpf.readUInt8(pc * 8 + 3);
    const k = bpf.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: a = data.readUInt32LE(k); pc++; break; // ld W abs
      case 0x54: a = (a & k) >>> 0; pc++; break; // and K
      case 0x05: pc += 1 + k; break; // ja
      case 0x15: pc += 1 + (a === k ? jt : jf); break; // jeq K
      case 0x25: pc += 1 + (a > k ? jt : jf); break; // jgt K
      case 0x35: pc += 1 + (a >= k ? jt : jf); break; // jge K
      case 0x45: pc += 1 + ((a & k) !== 0 ? jt : jf); break; // jset K
      case 0x06: return k; // ret K
      default: throw new Error(`instruction 0x${code.toString(16)} at ${pc} not in this interpreter`);
    }
  }
  throw new Error('filter did not return');
}

const profile = (defaultAction: string, extra: Record<string, unknown> = {}) => compileSeccomp(compileInput({
  defaultAction,
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  syscalls: [
    { names: ['read', 'write', 'getpid', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
    { names: ['mkdir'], action: 'SCMP_ACT_ERRNO' },
  ],
  ...extra,
} as any));

test('a refusing default action: numbers above the largest named syscall get ENOSYS, the rest the filter', () => {
  const bpf = profile('SCMP_ACT_ERRNO');
  // x86_64: exit_group (231) is the largest named
  expect(runFilter(bpf, 39)).toBe(RET_ALLOW); // getpid
  expect(runFilter(bpf, 83)).toBe(errno(EPERM)); // mkdir: its rule
  expect(runFilter(bpf, 60)).toBe(errno(EPERM)); // exit: below the largest, not named: the default
  expect(runFilter(bpf, 231)).toBe(RET_ALLOW);
  expect(runFilter(bpf, 232)).toBe(errno(ENOSYS));
  expect(runFilter(bpf, 1000)).toBe(errno(ENOSYS));
  // x32 (same audit arch, __X32_SYSCALL_BIT) and i386 have their own largest numbers
  expect(runFilter(bpf, X32_BIT | 39)).toBe(RET_ALLOW);
  expect(runFilter(bpf, X32_BIT | 1000)).toBe(errno(ENOSYS));
  expect(runFilter(bpf, 20, AUDIT_ARCH_I386)).toBe(RET_ALLOW); // getpid on i386
  expect(runFilter(bpf, 2000, AUDIT_ARCH_I386)).toBe(errno(ENOSYS));
  // an architecture the profile does not name: the filter's own answer (KILL)
  expect(runFilter(bpf, 1000, 0xc00000b7)).toBe(0);
});

test('defaultErrnoRet still applies below the largest number', () => {
  const bpf = profile('SCMP_ACT_ERRNO', { defaultErrnoRet: 6 });
  expect(runFilter(bpf, 60)).toBe(errno(6));
  expect(runFilter(bpf, 1000)).toBe(errno(ENOSYS));
});

test.each(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'])('no stub with an allowing default action (%s), as runc', (action) => {
  const bpf = profile(action);
  const expected = action === 'SCMP_ACT_ALLOW' ? RET_ALLOW : action === 'SCMP_ACT_LOG' ? 0x7ffc0000 : (0x7ff00000 | EPERM) >>> 0;
  expect(runFilter(bpf, 1000)).toBe(expected);
});

test('no named syscall this libseccomp knows: no stub', () => {
  const bpf = compileSeccomp(compileInput({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['not_a_syscall'], action: 'SCMP_ACT_ALLOW' }] } as any));
  expect(runFilter(bpf, 1000)).toBe(errno(EPERM));
});
