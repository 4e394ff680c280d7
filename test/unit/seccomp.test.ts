import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  canonicalInput, compileInput, filterFlags, listenerState, seccompEnabled, toUint64,
  SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_SPEC_ALLOW,
} from '../../src/seccomp/profile';
import { cacheFileName, cacheKey, compileCached, SECCOMP_CACHE_DIR } from '../../src/seccomp/cache';
import { compileSeccomp, seccompLibInfo } from '../../src/seccomp';

const REPO = path.resolve(__dirname, '..', '..');
const podman = () => JSON.parse(fs.readFileSync(path.join(REPO, 'bench/podman-seccomp.json'), 'utf8'));
const mkdirRule = (action: string, extra: Record<string, unknown> = {}) => ({ names: ['mkdir', 'mkdirat'], action, ...extra });

describe('profile → compile input (pure)', () => {
  test('copies the profile; argument values become exact BigInts', () => {
    const input = compileInput({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 4294967295, op: 'SCMP_CMP_EQ' }] }],
    } as any);
    expect(input).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 4294967295n, valueTwo: 0n, op: 'SCMP_CMP_EQ' }] }],
    });
  });

  test('uint64 values: exact up to 2^53, 2^64 (what JSON gives for 0xFFFFFFFFFFFFFFFF) clamps, negatives refused', () => {
    expect(toUint64(2 ** 53 - 1, 'v')).toBe(9007199254740991n);
    expect(toUint64(JSON.parse('18446744073709551615'), 'v')).toBe(0xffffffffffffffffn);
    expect(toUint64(undefined, 'v')).toBe(0n);
    expect(() => toUint64(-1, 'x.value')).toThrow(/x\.value: must be an unsigned 64-bit integer/);
    expect(() => toUint64(1.5, 'x.value')).toThrow(/x\.value/);
  });

  test('errors name the field', () => {
    expect(() => compileInput({ defaultAction: 'SCMP_ACT_FOO' } as any)).toThrow(/linux\.seccomp\.defaultAction: unknown seccomp action "SCMP_ACT_FOO"/);
    expect(() => compileInput({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_ERRNO'), mkdirRule('NOPE')] } as any))
      .toThrow(/linux\.seccomp\.syscalls\[1\]\.action: unknown seccomp action "NOPE"/);
    expect(() => compileInput({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_ERRNO', { args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] })] } as any))
      .toThrow(/syscalls\[0\]\.args\[0\]\.index: must be an integer from 0 to 5/);
    expect(() => compileInput({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_ERRNO', { args: [{ index: 0, value: 0, op: 'SCMP_CMP_XX' }] })] } as any))
      .toThrow(/syscalls\[0\]\.args\[0\]\.op: unknown seccomp operator "SCMP_CMP_XX"/);
    expect(() => compileInput({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] } as any))
      .toThrow(/syscalls\[0\]\.names: must list at least one syscall/);
  });

  test('NOTIFY: not as default, not for write or sendmsg, only with a listenerPath', () => {
    expect(() => compileInput({ defaultAction: 'SCMP_ACT_NOTIFY' } as any)).toThrow(/cannot be used as default action/);
    for (const name of ['write', 'sendmsg']) {
      expect(() => compileInput({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/l', syscalls: [{ names: ['read', name], action: 'SCMP_ACT_NOTIFY' }] } as any))
        .toThrow(new RegExp(`SCMP_ACT_NOTIFY cannot be used for the ${name} syscall`));
    }
    expect(() => compileInput({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_NOTIFY')] } as any)).toThrow(/needs linux\.seccomp\.listenerPath/);
  });

  test("runc's 'disabled' rule: empty defaultAction and no syscalls", () => {
    expect(seccompEnabled(undefined)).toBe(false);
    expect(seccompEnabled({ defaultAction: '' } as any)).toBe(false);
    expect(seccompEnabled({ defaultAction: 'SCMP_ACT_ALLOW' } as any)).toBe(true);
  });

  test('loader flags: SPEC_ALLOW by default (API ≥ 4), none for flags: [], NEW_LISTENER with notify, TSYNC accepted and ignored (runc)', () => {
    const base = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_ERRNO')] } as any;
    expect(filterFlags(base, { apiLevel: 6 })).toBe(SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    expect(filterFlags(base, { apiLevel: 3 })).toBe(0);
    expect(filterFlags({ ...base, flags: [] }, { apiLevel: 6 })).toBe(0);
    expect(filterFlags({ ...base, flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_TSYNC'] }, { apiLevel: 6 })).toBe(SECCOMP_FILTER_FLAG_LOG);
    expect(filterFlags({ ...base, flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }, { apiLevel: 6 })).toBe(0);
    const notify = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/l', flags: ['SECCOMP_FILTER_FLAG_TSYNC'], syscalls: [mkdirRule('SCMP_ACT_NOTIFY')] } as any;
    expect(filterFlags(notify, { apiLevel: 6 })).toBe(SECCOMP_FILTER_FLAG_NEW_LISTENER);
  });

  test("listener state: runc's ContainerProcessState (creating for a new container, running + init pid for an exec)", () => {
    expect(JSON.parse(listenerState({ id: 'c1', bundle: '/b', ociVersion: '1.2.0', mode: 'create', metadata: 'm', annotations: { a: 'b' } }))).toEqual({
      ociVersion: '1.3.0', fds: ['seccompFd'], pid: 0, metadata: 'm',
      state: { ociVersion: '1.2.0', id: 'c1', status: 'creating', pid: 0, bundle: '/b', annotations: { a: 'b' } },
    });
    expect(JSON.parse(listenerState({ id: 'c1', bundle: '/b', ociVersion: '1.3.0', mode: 'exec', initPid: 42, annotations: {} }))).toEqual({
      ociVersion: '1.3.0', fds: ['seccompFd'], pid: 0,
      state: { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/b' },
    });
  });

  test('canonical input: BigInts as decimal strings, stable', () => {
    const a = compileInput(podman());
    expect(canonicalInput(a)).toBe(canonicalInput(compileInput(podman())));
    expect(canonicalInput(a)).toContain('"value":"4294967295"');
  });
});

describe('the cache (fake compiler)', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-seccomp-unit-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const input = () => compileInput({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_ERRNO')] } as any);
  const lib = { version: '2.5.4' };

  test('compiles once, then serves <root>/.seccomp-cache/<name>.bpf', () => {
    let calls = 0;
    const compile = () => {
      calls++;
      return Buffer.alloc(64, 7);
    };
    const first = compileCached(root, input(), lib, compile);
    expect(first.cached).toBe(false);
    expect(first.file).toBe(path.join(root, SECCOMP_CACHE_DIR, cacheFileName(Buffer.from(cacheKey(input(), lib)))));
    expect(fs.statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(first.file!)).mode & 0o777).toBe(0o700);
    const second = compileCached(root, input(), lib, compile);
    expect(second).toMatchObject({ cached: true, file: first.file });
    expect(second.bpf.equals(first.bpf)).toBe(true);
    expect(calls).toBe(1);
    expect(fs.readdirSync(path.join(root, SECCOMP_CACHE_DIR))).toEqual([path.basename(first.file!)]);
  });

  test('the key covers the input and the libseccomp version', () => {
    const other = compileInput({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_ERRNO', { errnoRet: 1 })] } as any);
    expect(cacheKey(other, lib)).not.toBe(cacheKey(input(), lib));
    expect(cacheKey(input(), { version: '2.6.0' })).not.toBe(cacheKey(input(), lib));
    expect(cacheFileName(Buffer.from(cacheKey(other, lib)))).not.toBe(cacheFileName(Buffer.from(cacheKey(input(), lib))));
    expect(cacheFileName(Buffer.from(cacheKey(input(), lib)))).toMatch(/^[0-9a-f]{16}\.bpf$/);
    // FNV-1a 64 test vectors (the name must not change between builds: it is the file on disk)
    expect(cacheFileName(Buffer.from(''))).toBe('cbf29ce484222325.bpf');
    expect(cacheFileName(Buffer.from('a'))).toBe('af63dc4c8601ec8c.bpf');
  });

  test('a file under the same name holding another key (a name collision) is a miss, then replaced', () => {
    const file = path.join(root, SECCOMP_CACHE_DIR, cacheFileName(Buffer.from(cacheKey(input(), lib))));
    const otherKey = Buffer.from(cacheKey(input(), { version: '0.0.0' }));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(otherKey.length);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.concat([length, otherKey, Buffer.alloc(8, 9)]));
    const r = compileCached(root, input(), lib, () => Buffer.alloc(16, 1));
    expect(r.cached).toBe(false);
    expect(compileCached(root, input(), lib, () => Buffer.alloc(8)).bpf).toEqual(Buffer.alloc(16, 1));
  });

  test('a damaged cache file (not whole sock_filters) is recompiled and replaced', () => {
    const file = path.join(root, SECCOMP_CACHE_DIR, cacheFileName(Buffer.from(cacheKey(input(), lib))));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.alloc(13));
    const r = compileCached(root, input(), lib, () => Buffer.alloc(16, 1));
    expect(r.cached).toBe(false);
    expect(fs.readFileSync(file).subarray(-16)).toEqual(Buffer.alloc(16, 1));
    expect(compileCached(root, input(), lib, () => Buffer.alloc(8)).cached).toBe(true);
  });

  test('an unwritable cache is not an error: the filter is compiled every time', () => {
    const blocker = path.join(root, 'file-not-dir');
    fs.writeFileSync(blocker, '');
    let calls = 0;
    const compile = () => {
      calls++;
      return Buffer.alloc(8);
    };
    // <blocker>/.seccomp-cache cannot be made: a file is in the way
    expect(compileCached(blocker, input(), lib, compile)).toMatchObject({ cached: false, file: undefined });
    expect(compileCached(blocker, input(), lib, compile).cached).toBe(false);
    expect(calls).toBe(2);
  });
});

describe('the addon compiler (libseccomp)', () => {
  // a classic BPF return: BPF_RET|BPF_K (0x06) with k = the SECCOMP_RET_* value
  function returns(bpf: Buffer): Set<number> {
    const out = new Set<number>();
    for (let i = 0; i < bpf.length; i += 8) if (bpf.readUInt16LE(i) === 0x06) out.add(bpf.readUInt32LE(i + 4));
    return out;
  }
  const compile = (profile: object) => compileSeccomp(compileInput(profile as any));

  test('libseccomp is there, with the notify API', () => {
    const info = seccompLibInfo();
    expect(info.available).toBe(true);
    expect(info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.apiLevel).toBeGreaterThanOrEqual(6);
  });

  test.each([
    ['SCMP_ACT_ALLOW', undefined, 0x7fff0000],
    ['SCMP_ACT_ERRNO', undefined, 0x00050000 | 1],
    ['SCMP_ACT_ERRNO', 28, 0x00050000 | 28],
    ['SCMP_ACT_KILL', undefined, 0x00000000],
    ['SCMP_ACT_KILL_THREAD', undefined, 0x00000000],
    ['SCMP_ACT_KILL_PROCESS', undefined, 0x80000000],
    ['SCMP_ACT_TRAP', undefined, 0x00030000],
    ['SCMP_ACT_TRACE', undefined, 0x7ff00000 | 1],
    ['SCMP_ACT_TRACE', 5, 0x7ff00000 | 5],
    ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
    ['SCMP_ACT_NOTIFY', undefined, 0x7fc00000],
  ])('%s (errnoRet %s) → SECCOMP_RET 0x%s', (action, errnoRet, ret) => {
    const rule = mkdirRule(action, errnoRet === undefined ? {} : { errnoRet });
    const defaultAction = action === 'SCMP_ACT_LOG' ? 'SCMP_ACT_ALLOW' : 'SCMP_ACT_LOG';
    const bpf = compile({ defaultAction, listenerPath: '/l', syscalls: [rule] });
    expect(bpf.length % 8).toBe(0);
    expect(returns(bpf).has(ret >>> 0)).toBe(true);
  });

  test('defaultErrnoRet applies to the default action', () => {
    expect(returns(compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [mkdirRule('SCMP_ACT_ALLOW')] })).has(0x00050000 | 38)).toBe(true);
  });

  test('every operator compiles, with 64-bit values', () => {
    for (const op of ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']) {
      const bpf = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0xffffffffffffffffn, valueTwo: 8, op }] }] });
      expect(bpf.length).toBeGreaterThan(8);
    }
  });

  test('a rule with the default action, and unknown syscall names, add nothing', () => {
    const plain = compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_ERRNO')] });
    expect(compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [mkdirRule('SCMP_ACT_ERRNO'), { names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] }).equals(plain)).toBe(true);
    expect(compile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'not_a_syscall', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }).equals(plain)).toBe(true);
  });

  test("podman's default profile compiles to one program for 3 architectures", () => {
    const bpf = compile(podman());
    expect(bpf.length / 8).toBeGreaterThan(100);
    expect(bpf.length / 8).toBeLessThanOrEqual(4096);
    expect(returns(bpf).has(0x00050000 | 38)).toBe(true);
    expect(returns(bpf).has(0x00050000 | 1)).toBe(true);
  });

  test('errors from the addon name the field and never throw from C++', () => {
    expect(() => compile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_M68K'] }))
      .toThrow('linux.seccomp: architectures[1]: SCMP_ARCH_M68K is not supported by this libseccomp');
    expect(() => compile({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 5000 }))
      .toThrow(/defaultAction: libseccomp rejected SCMP_ACT_ERRNO with errno 5000/);
    // the addon checks its input itself too (raw calls, not through compileInput)
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_BOOM', args: [] }] }))
      .toThrow('linux.seccomp: syscalls[0].action: unknown seccomp action "SCMP_ACT_BOOM"');
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 9, value: 0n, valueTwo: 0n, op: 'SCMP_CMP_EQ' }] }] }))
      .toThrow('syscalls[0].args[0].index: must be an integer from 0 to 5');
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [], syscalls: [{ names: [''], action: 'SCMP_ACT_ERRNO', args: [] }] }))
      .toThrow('syscalls[0].names[0]: empty string is not a valid syscall');
    expect(() => compileSeccomp({ defaultAction: 'SCMP_ACT_NOTIFY', architectures: [], syscalls: [] }))
      .toThrow('SCMP_ACT_NOTIFY cannot be used as default action');
    expect(() => compileSeccomp(null as any)).toThrow(/expected a profile object/);
  });
});
