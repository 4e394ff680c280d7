/**
 * joinCgroupsInBackground on a temporary directory laid out like cgroupfs (cgroup.procs as
 * plain files): the pid reaches every hierarchy's cgroup.procs, each write is under way while
 * the caller is still busy (create builds the plan then: the kernel's RCU wait of a move
 * overlaps it), and a missing cgroup.procs fails naming the file, with no fd left open.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { joinCgroupsInBackground } from '../../src/cgroups';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-join-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function hierarchy(name: string, withProcs = true): string {
  const dir = path.join(tmp, name, 'ctr');
  fs.mkdirSync(dir, { recursive: true });
  if (withProcs) fs.writeFileSync(path.join(dir, 'cgroup.procs'), '');
  return dir;
}
const openFds = () => fs.readdirSync('/proc/self/fd').length;

test('writes the pid into each hierarchy once (a shared directory once)', async () => {
  const paths = { cpu: hierarchy('cpu,cpuacct'), cpuacct: path.join(tmp, 'cpu,cpuacct', 'ctr'), pids: hierarchy('pids'), '': hierarchy('unified') };
  await joinCgroupsInBackground(paths, 4242);
  for (const name of ['cpu,cpuacct', 'pids', 'unified']) expect(fs.readFileSync(path.join(tmp, name, 'ctr', 'cgroup.procs'), 'utf8')).toBe('4242');
});

test('the writes are made while the caller is still busy, not after it yields', async () => {
  const dirs = ['cpu', 'memory', 'pids', 'devices', 'freezer', 'blkio'].map((n) => hierarchy(n));
  const joined = joinCgroupsInBackground(Object.fromEntries(dirs.map((d, i) => [String(i), d])), 7);
  // synchronous work, as create's planning: the threadpool must do every write meanwhile
  const end = Date.now() + 5000;
  const written = () => dirs.every((d) => fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8') === '7');
  while (!written() && Date.now() < end) {
    /* busy, like buildPlan */
  }
  expect(written()).toBe(true);
  await joined;
});

test('a hierarchy without cgroup.procs fails naming it, and no fd stays open', async () => {
  const before = openFds();
  const paths = { cpu: hierarchy('cpu'), memory: hierarchy('memory', false), pids: hierarchy('pids') };
  await expect(joinCgroupsInBackground(paths, 99)).rejects.toThrow(path.join(tmp, 'memory', 'ctr', 'cgroup.procs'));
  expect(openFds()).toBe(before);
  // never created: O_CREAT is not used on cgroupfs
  expect(fs.existsSync(path.join(tmp, 'memory', 'ctr', 'cgroup.procs'))).toBe(false);
});
