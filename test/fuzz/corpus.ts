/**
 * Hand-written bad input: each case is a config (text or object) built from a valid base.
 * Every one must end in exit 1 with a one-line message (or a harmless successful create).
 */
import { setAt, type JsonPath } from './mutate';

export interface BadConfig {
  name: string;
  /** raw text, or a function of the base config (returning an object or raw text) */
  config: string | ((base: any) => any);
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const at = (p: JsonPath, v: any) => (b: any) => setAt(b, p, v);

export const BAD_CONFIGS: BadConfig[] = [
  // malformed JSON
  { name: 'empty file', config: '' },
  { name: 'only whitespace', config: ' \n\t ' },
  { name: 'truncated object', config: '{"ociVersion": "1.3.0", "process": {' },
  { name: 'trailing comma', config: '{"ociVersion": "1.3.0",}' },
  { name: 'a JSON array', config: '[]' },
  { name: 'a JSON string', config: '"config"' },
  { name: 'null', config: 'null' },
  { name: 'NUL bytes', config: '\u0000\u0000' },
  { name: 'binary garbage', config: '\u00ff\u00fe\u0001{' },
  { name: 'deeply nested arrays', config: deep(100000) },
  { name: 'deeply nested value in process.args', config: (b) => JSON.stringify(b).replace('"args":[', `"args":[${deep(5000)},`) },
  { name: 'a megabyte of garbage', config: 'x'.repeat(1 << 20) },
  // wrong types at each level
  { name: 'process is a string', config: at(['process'], 'sh') },
  { name: 'linux is an array', config: at(['linux'], []) },
  { name: 'mounts is an object', config: at(['mounts'], {}) },
  { name: 'args contains a number', config: at(['process', 'args'], ['sh', 5]) },
  { name: 'uid is a string', config: at(['process', 'user', 'uid'], '0') },
  { name: 'namespaces entries are strings', config: at(['linux', 'namespaces'], ['pid', 'mount']) },
  { name: 'root.readonly is a string', config: at(['root', 'readonly'], 'yes') },
  // huge values
  { name: 'uid 2^32', config: at(['process', 'user', 'uid'], 4294967296) },
  { name: 'uid 2^53', config: at(['process', 'user', 'uid'], 2 ** 53) },
  { name: 'rlimit hard 2^64', config: at(['process', 'rlimits'], [{ type: 'RLIMIT_NOFILE', hard: 18446744073709551616, soft: 1024 }]) },
  { name: 'rlimit soft > hard', config: at(['process', 'rlimits'], [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 4096 }]) },
  { name: 'oomScoreAdj 1e9', config: at(['process', 'oomScoreAdj'], 1e9) },
  { name: 'hostname of 100k characters', config: at(['hostname'], 'h'.repeat(100000)) },
  { name: '100k args', config: at(['process', 'args'], Array.from({ length: 100000 }, () => 'x')) },
  { name: 'an env entry of 1 MB', config: at(['process', 'env'], ['A=' + 'x'.repeat(1 << 20)]) },
  { name: 'memory limit 2^63', config: at(['linux', 'resources'], { memory: { limit: 2 ** 63 } }) },
  { name: 'consoleSize huge', config: (b) => setAt(b, ['process', 'consoleSize'], { height: 2 ** 40, width: -1 }) },
  // negative sizes
  { name: 'uid mapping of size -1', config: (b) => withUserNs(b, [{ containerID: 0, hostID: 100000, size: -1 }]) },
  { name: 'uid mapping of size 0', config: (b) => withUserNs(b, [{ containerID: 0, hostID: 100000, size: 0 }]) },
  { name: 'negative memory limit', config: at(['linux', 'resources'], { memory: { limit: -5 } }) },
  { name: 'negative pids limit', config: at(['linux', 'resources'], { pids: { limit: -100 } }) },
  { name: 'negative cpu shares', config: at(['linux', 'resources'], { cpu: { shares: -1 } }) },
  { name: 'tmpfs size=-1', config: (b) => ({ ...b, mounts: [...b.mounts, { destination: '/mnt/t', type: 'tmpfs', source: 'tmpfs', options: ['size=-1'] }] }) },
  { name: 'negative time offset nanoseconds', config: (b) => withTimeNs(b, { monotonic: { secs: 0, nanosecs: -1 } }) },
  // unknown enum values
  { name: 'unknown namespace type', config: at(['linux', 'namespaces'], [{ type: 'bogus' }]) },
  { name: 'unknown rootfsPropagation', config: at(['linux', 'rootfsPropagation'], 'bogus') },
  { name: 'unknown capability', config: at(['process', 'capabilities'], { bounding: ['CAP_BOGUS'], effective: ['CAP_BOGUS'] }) },
  { name: 'unknown rlimit', config: at(['process', 'rlimits'], [{ type: 'RLIMIT_BOGUS', hard: 1, soft: 1 }]) },
  { name: 'unknown seccomp action', config: at(['linux', 'seccomp'], { defaultAction: 'SCMP_ACT_BOGUS' }) },
  { name: 'unknown seccomp arch', config: at(['linux', 'seccomp'], { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_BOGUS'] }) },
  { name: 'unknown device type', config: at(['linux', 'devices'], [{ path: '/dev/x', type: 'z', major: 1, minor: 3 }]) },
  { name: 'unknown mount propagation option', config: (b) => ({ ...b, mounts: [...b.mounts, { destination: '/mnt/p', type: 'tmpfs', source: 'tmpfs', options: ['rbogus'] }] }) },
  { name: 'unknown filesystem type', config: (b) => ({ ...b, mounts: [...b.mounts, { destination: '/mnt/f', type: 'nosuchfs', source: 'none' }] }) },
  { name: 'unknown personality domain', config: at(['linux', 'personality'], { domain: 'LINUX_BOGUS' }) },
  { name: 'unknown ociVersion', config: at(['ociVersion'], '9.9.9') },
  { name: 'a newline in a quoted value (fuzzer find: two-line message)', config: at(['ociVersion'], '\n') },
  { name: 'unknown hook kind holding an object (fuzzer find)', config: at(['hooks'], { a: 1 }) },
  { name: 'unknown hook kind holding non-hooks (fuzzer find)', config: at(['hooks'], { destination: [1, 'a'] }) },
  { name: 'duplicate namespace', config: at(['linux', 'namespaces'], [{ type: 'pid' }, { type: 'pid' }, { type: 'mount' }]) },
  // overlapping id mappings
  { name: 'overlapping container ranges', config: (b) => withUserNs(b, [{ containerID: 0, hostID: 100000, size: 65536 }, { containerID: 1000, hostID: 300000, size: 10 }]) },
  { name: 'overlapping host ranges', config: (b) => withUserNs(b, [{ containerID: 0, hostID: 100000, size: 100 }, { containerID: 100, hostID: 100050, size: 100 }]) },
  { name: 'a mapping that wraps around 2^32', config: (b) => withUserNs(b, [{ containerID: 0, hostID: 4294967290, size: 100 }]) },
  { name: 'user namespace without mappings', config: (b) => withUserNs(b, []) },
  // mount destinations with ".." and relative forms
  { name: 'destination climbing with ..', config: (b) => ({ ...b, mounts: [...b.mounts, { destination: '/../../../../tmp/tsoci-fuzz-escape', type: 'tmpfs', source: 'tmpfs' }] }) },
  { name: 'relative destination with ..', config: (b) => ({ ...b, mounts: [...b.mounts, { destination: 'mnt/../../../tsoci-fuzz-escape', type: 'tmpfs', source: 'tmpfs' }] }) },
  { name: 'destination through a symlink to /', config: (b) => ({ ...b, mounts: [...b.mounts, { destination: '/escape-abs/tsoci-fuzz-escape', type: 'tmpfs', source: 'tmpfs' }] }) },
  { name: 'destination through a symlink with ..', config: (b) => ({ ...b, mounts: [...b.mounts, { destination: '/escape-rel/tsoci-fuzz-escape', type: 'tmpfs', source: 'tmpfs' }] }) },
  { name: 'device path through a symlink', config: at(['linux', 'devices'], [{ path: '/escape-abs/tsoci-fuzz-escape-dev', type: 'c', major: 1, minor: 3 }]) },
  { name: 'empty destination', config: (b) => ({ ...b, mounts: [...b.mounts, { destination: '', type: 'tmpfs', source: 'tmpfs' }] }) },
  { name: 'cwd relative', config: at(['process', 'cwd'], 'tmp') },
  { name: 'cwd with ..', config: at(['process', 'cwd'], '/../../../../tsoci-fuzz-escape') },
  { name: 'empty args', config: at(['process', 'args'], []) },
  { name: 'an empty string executable', config: at(['process', 'args'], ['']) },
];

function withUserNs(b: any, maps: object[]): any {
  const linux = { ...b.linux, namespaces: [...b.linux.namespaces, { type: 'user' }], uidMappings: maps, gidMappings: maps };
  return { ...b, linux };
}

function withTimeNs(b: any, timeOffsets: object): any {
  return { ...b, linux: { ...b.linux, namespaces: [...b.linux.namespaces, { type: 'time' }], timeOffsets } };
}

/** `tsoci kill <id> <signal>` with these must fail with "invalid signal". */
export const BAD_SIGNALS = ['SIGFOO', 'FOO', '99', '65', '-1', '0x9', '9x', '', ' ', 'RTMIN+99', 'RTMAX+1', 'KILL KILL', 'SIG', '1e1', '９'];

/** Container ids that must be refused (or stay inside the root if accepted). */
export const BAD_IDS = ['..', '.', '../escape', 'a/b', '/abs', '.hidden', 'x'.repeat(1025)];
/** Odd but legal ids: accepted, and their state stays a direct child of the root. */
export const ODD_IDS = ['a\nb', ' ', '-', '--', 'ünïcødé', 'x'.repeat(200), 'a b', '$(touch /tmp/tsoci-fuzz-pwned)', '*'];

/** exec --process files: each field wrong at once, then one at a time. */
export function badProcesses(valid: any): { name: string; process: string | object }[] {
  const allWrong = {
    terminal: 'yes', user: { uid: 'root', gid: -1, additionalGids: 'x', umask: 'x' }, args: 'sh', env: { A: 1 }, cwd: 5,
    capabilities: { bounding: 'CAP_ALL' }, rlimits: [{ type: 'RLIMIT_BOGUS', hard: -1, soft: 'x' }], noNewPrivileges: 'true',
    oomScoreAdj: 'x', apparmorProfile: 7, consoleSize: 'big', selinuxLabel: [], ioPriority: { class: 'bogus' },
  };
  const cases: { name: string; process: string | object }[] = [
    { name: 'not JSON', process: '{args:' },
    { name: 'every field wrong', process: allWrong },
    { name: 'cwd relative', process: { ...valid, cwd: 'tmp' } },
    { name: 'args empty', process: { ...valid, args: [] } },
  ];
  for (const [k, v] of Object.entries(allWrong)) cases.push({ name: `${k} wrong`, process: { ...valid, [k]: v } });
  return cases;
}
