/**
 * The cgroup v2 device filter's instructions (cpp/addon/devices_bpf.cc, via the addon's
 * deviceFilterProgram) run in a tiny interpreter of the instructions it may emit, and the
 * rule list devices-v2.ts builds from a spec. No root needed; loading into the real kernel
 * is in cgroups-v2-devices-real.test.ts.
 */
import { deviceFilterProgram, deviceFilterRules, DeviceFilterRule } from '../../src/cgroups/devices-v2';
import { DEFAULT_DEVICE_RULES } from '../../src/cgroups/resources-v1';

const DEFAULT_COUNT = DEFAULT_DEVICE_RULES.length;

const ACC = { m: 1, r: 2, w: 4 } as const;
const DEV = { b: 1, c: 2 } as const;

interface Insn { code: number; dst: number; src: number; off: number; imm: number }
function decode(buf: Buffer): Insn[] {
  const out: Insn[] = [];
  for (let i = 0; i < buf.length; i += 8) {
    out.push({ code: buf[i], dst: buf[i + 1] & 0xf, src: buf[i + 1] >> 4, off: buf.readInt16LE(i + 2), imm: buf.readInt32LE(i + 4) });
  }
  return out;
}

/** Runs a program on struct bpf_cgroup_dev_ctx {access_type, major, minor}; only the opcodes the generator may emit. */
function run(prog: Insn[], type: 'b' | 'c', access: string, major: number, minor: number): number {
  const ctx = [((access.split('') as (keyof typeof ACC)[]).reduce((a, c) => a | ACC[c], 0) << 16) | DEV[type], major >>> 0, minor >>> 0];
  const r = new Array<number>(11).fill(0);
  r[1] = -1; // the context pointer: only usable as LDX base
  for (let pc = 0, steps = 0; steps < 10000; steps++) {
    const i = prog[pc];
    if (!i) throw new Error(`fell off the program at ${pc}`);
    const imm = i.imm >>> 0;
    pc++;
    switch (i.code) {
      case 0x61: // LDX MEM W
        if (i.src !== 1 || i.off % 4 !== 0) throw new Error('LDX not from the context');
        r[i.dst] = ctx[i.off / 4];
        break;
      case 0xbc: r[i.dst] = r[i.src] >>> 0; break; // MOV32 X
      case 0x54: r[i.dst] = (r[i.dst] & imm) >>> 0; break; // AND32 K
      case 0x74: r[i.dst] = r[i.dst] >>> imm; break; // RSH32 K
      case 0xb7: r[i.dst] = i.imm; break; // MOV64 K
      case 0x56: if ((r[i.dst] >>> 0) !== imm) pc += i.off; break; // JMP32 JNE K
      case 0x16: if ((r[i.dst] >>> 0) === imm) pc += i.off; break; // JMP32 JEQ K
      case 0x46: if ((r[i.dst] & imm) !== 0) pc += i.off; break; // JMP32 JSET K
      case 0x95: return r[0]; // EXIT
      default: throw new Error(`unexpected opcode 0x${i.code.toString(16)} at ${pc - 1}`);
    }
  }
  throw new Error('no exit');
}

/** Every instruction reachable and every jump inside the program (the verifier refuses both). */
function checkShape(prog: Insn[]): void {
  const seen = new Set<number>();
  const todo = [0];
  while (todo.length) {
    const pc = todo.pop()!;
    if (seen.has(pc)) continue;
    if (pc < 0 || pc >= prog.length) throw new Error(`jump out of the program to ${pc}`);
    seen.add(pc);
    const { code, off } = prog[pc];
    if (code === 0x95) continue;
    todo.push(pc + 1);
    if ((code & 0x07) === 0x06) todo.push(pc + 1 + off);
  }
  expect(seen.size).toBe(prog.length);
}

const rule = (allow: boolean, type: 'a' | 'b' | 'c', major: number, minor: number, access = 'rwm'): DeviceFilterRule => ({ allow, type, major, minor, access });
const compile = (rules: DeviceFilterRule[]) => {
  const prog = decode(deviceFilterProgram(rules));
  checkShape(prog);
  return (type: 'b' | 'c', access: string, major: number, minor: number) => run(prog, type, access, major, minor);
};

test('no rules: everything denied', () => {
  const f = compile([]);
  expect(f('c', 'rw', 1, 3)).toBe(0);
  expect(f('b', 'm', 8, 0)).toBe(0);
});

test('deny all then allow c 1:3 rwm: only /dev/null', () => {
  const f = compile([rule(false, 'a', -1, -1), rule(true, 'c', 1, 3)]);
  expect(f('c', 'rw', 1, 3)).toBe(1);
  expect(f('c', 'm', 1, 3)).toBe(1);
  expect(f('c', 'r', 1, 5)).toBe(0);
  expect(f('b', 'r', 1, 3)).toBe(0);
});

test('the last matching rule wins; wildcards; access subsets', () => {
  const f = compile([rule(true, 'c', -1, -1), rule(false, 'c', 1, -1, 'w'), rule(true, 'c', 1, 9, 'r')]);
  expect(f('c', 'rw', 4, 1)).toBe(1); // c *:* rwm
  expect(f('c', 'r', 1, 5)).toBe(1); // deny c 1:* w does not touch reads
  expect(f('c', 'w', 1, 5)).toBe(0);
  expect(f('c', 'rw', 1, 5)).toBe(0); // any denied bit denies
  expect(f('c', 'r', 1, 9)).toBe(1); // allow c 1:9 r, last
  expect(f('c', 'rw', 1, 9)).toBe(0); // w is not in the last allow → falls to the deny
  expect(f('b', 'r', 8, 0)).toBe(0); // no block rule
});

test('allow all as the last rule: one block, earlier rules not emitted (unreachable)', () => {
  const many = [rule(false, 'c', 1, 3), rule(true, 'b', 8, -1, 'r'), rule(true, 'a', -1, -1)];
  const prog = decode(deviceFilterProgram(many));
  checkShape(prog);
  expect(prog.length).toBe(6 + 2); // prologue + "return 1"
  expect(run(prog, 'c', 'rw', 1, 3)).toBe(1);
});

test('type a with numbers, majors and minors beyond 2^31', () => {
  const f = compile([rule(true, 'a', 7, -1, 'r'), rule(true, 'c', 4294967295, 2147483648, 'rw')]);
  expect(f('b', 'r', 7, 1)).toBe(1);
  expect(f('c', 'r', 7, 99)).toBe(1);
  expect(f('c', 'w', 7, 1)).toBe(0);
  expect(f('c', 'rw', 4294967295, 2147483648)).toBe(1);
  expect(f('c', 'rw', 4294967295, 0)).toBe(0);
});

test('the rules v2 gets are v1\'s: spec then runc\'s defaults; fields normalized', () => {
  const rules = deviceFilterRules([{ allow: true, type: 'b', major: 8, access: 'r' }, { allow: false }]);
  expect(rules.slice(0, 2)).toEqual([rule(true, 'b', 8, -1, 'r'), rule(false, 'a', -1, -1, 'rwm')]);
  expect(rules.length).toBe(2 + DEFAULT_DEVICE_RULES.length);
  // with the default set: the standard nodes, ptys, mknod of anything, nothing else
  const f = compile(deviceFilterRules(undefined));
  for (const [maj, min] of [[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 2], [136, 4], [10, 200]]) expect(f('c', 'rw', maj, min)).toBe(1);
  expect(f('b', 'm', 8, 0)).toBe(1);
  expect(f('c', 'm', 4, 1)).toBe(1);
  expect(f('b', 'r', 8, 0)).toBe(0);
  expect(f('c', 'rw', 4, 1)).toBe(0); // /dev/tty1
  expect(f('c', 'r', 1, 1)).toBe(0); // /dev/mem
});

test('access letters other than r, w, m are ignored, as runc does ("rwa" is "rw"); a b/c rule left with none is dropped', () => {
  const own = (rules: Parameters<typeof deviceFilterRules>[0]) => deviceFilterRules(rules).slice(0, -DEFAULT_COUNT);
  expect(own([{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 11, access: 'rwa' }])).toEqual([
    { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' },
    { allow: false, type: 'c', major: 1, minor: 11, access: 'rw' },
  ]);
  expect(own([{ allow: true, type: 'c', major: 1, minor: 3, access: 'mxwr' }])).toEqual([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }]);
  expect(own([{ allow: true, type: 'c', major: 1, minor: 3, access: 'a' }, { allow: true, type: 'b', major: 8, minor: 0 }])).toEqual([
    { allow: true, type: 'b', major: 8, minor: 0, access: 'rwm' },
  ]);
  // an "a" rule ignores its access
  expect(own([{ allow: true, access: 'x' }])).toEqual([{ allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' }]);
});

test('rules a filter cannot express are refused with the rule index', () => {
  expect(() => deviceFilterRules([{ allow: true, type: 'p' as any }])).toThrow('cgroup: invalid device rule 0: type "p"');
  expect(() => deviceFilterRules([{ allow: true, access: 'a' }, { allow: true, type: 'x' as any }])).toThrow('cgroup: invalid device rule 1: type "x"');
  expect(() => deviceFilterRules([{ allow: true, type: 'c', major: 2 ** 32 }])).toThrow(/rule 0: major 4294967296 cannot be expressed/);
  // the addon checks too (its input does not have to come from deviceFilterRules)
  expect(() => deviceFilterProgram([{ ...rule(true, 'c', 1, 3), type: 'u' as any }])).toThrow('cgroup: device filter: rule 0: device type "u" cannot be expressed (a, b or c)');
  expect(() => deviceFilterProgram([rule(true, 'c', 1.5, 3)])).toThrow(/rule 0: major must be -1/);
  expect(() => deviceFilterProgram([rule(true, 'c', 1, 3, '')])).toThrow(/rule 0: access must not be empty/);
});
