import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';
import { findTestCriu, tsociPiped } from '../helpers/criu';
import { ConsoleListener, readMaster } from '../helpers/console';
import { waitFor, sleepMs } from '../helpers/cgroups';

// Checkpoint/restore through the CLI with the real CRIU (scripts/build-criu.sh).
const CRIU = findTestCriu();
if (!CRIU.path) process.stdout.write(`checkpoint.test.ts: SKIPPED — ${CRIU.reason}\n`);
const describeIfCriu = CRIU.path ? describe : describe.skip;

/** A live process (the host's init may leave a dead container's init a zombie for a while). */
function running(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'];

describeIfCriu('checkpoint / restore (CRIU)', () => {
  let bundle: string;
  let images: string;
  const count = (b = bundle) => Number(fs.readFileSync(path.join(b, 'rootfs/tmp/count'), 'utf8').trim() || '0');
  const runCounter = async (id: string, b = bundle) => {
    const r = await tsociPiped(['run', '-d', '--bundle', b, id]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    waitFor(() => fs.existsSync(path.join(b, 'rootfs/tmp/count')) && count(b) >= 3, 10000, 'counting');
  };
  const restoreDetached = async (id: string, extra: string[] = [], b = bundle) => {
    const r = await tsociPiped(['restore', '-d', '--bundle', b, '--image-path', images, ...extra, id]);
    return r;
  };

  beforeAll(() => {
    bundle = makeBundle(testSpec(COUNTER));
  });
  beforeEach(() => {
    images = fs.mkdtempSync(path.join(bundle, 'images-'));
    fs.rmSync(path.join(bundle, 'rootfs/tmp/count'), { force: true });
  });
  afterEach(() => {
    deleteAll();
    fs.rmSync(images, { recursive: true, force: true });
  });
  afterAll(() => removeBundle(bundle));

  test('checkpoint stops and removes the container; restore resumes counting from the checkpointed value', async () => {
    const id = uniqueId('cr');
    await runCounter(id);
    const pid = stateOf(id).pid;
    const cp = tsoci(['checkpoint', '--image-path', images, id]);
    expect(cp.stderr).toBe('');
    expect(cp.status).toBe(0);
    // runc destroys a checkpointed container: the process is gone, so is its state
    expect(running(pid)).toBe(false);
    expect(tsoci(['state', id]).stderr).toContain(`container "${id}" does not exist`);
    expect(fs.existsSync(path.join(images, 'descriptors.json'))).toBe(true);
    const at = count();
    sleepMs(300);
    expect(count()).toBe(at); // nothing counts while checkpointed

    const r = await restoreDetached(id);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const st = stateOf(id);
    expect(st.status).toBe('running');
    waitFor(() => count() >= at + 3, 10000, 'counting after restore');
    // it went on from the checkpointed value (a fresh start would count from 1)
    expect(count()).toBeGreaterThan(at);
    expect(tsoci(['delete', '--force', id]).status).toBe(0);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
  });

  test('--leave-running: the container keeps counting; the image restores into a new id', async () => {
    const id = uniqueId('crl');
    await runCounter(id);
    const pid = stateOf(id).pid;
    const cp = tsoci(['checkpoint', '--leave-running', '--image-path', images, id]);
    expect(cp.stderr).toBe('');
    expect(cp.status).toBe(0);
    expect(stateOf(id)).toMatchObject({ status: 'running', pid });
    const at = count();
    waitFor(() => count() >= at + 2, 10000, 'counting after --leave-running');
    expect(tsoci(['delete', '--force', id]).status).toBe(0);

    const copy = uniqueId('crn');
    const r = await restoreDetached(copy);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(stateOf(copy).status).toBe('running');
    expect(stateOf(copy).pid).not.toBe(pid);
    const from = count();
    waitFor(() => count() > from, 10000, 'counting in the new id');
    expect(fs.readFileSync(`/proc/${stateOf(copy).pid}/cgroup`, 'utf8')).toContain(`/${copy}`);
  });

  test('restore --pid-file writes the restored pid; state, ps and kill work on it; delete cleans up', async () => {
    const id = uniqueId('crp');
    await runCounter(id);
    expect(tsoci(['checkpoint', '--image-path', images, '--work-path', path.join(images, 'work'), id]).status).toBe(0);
    expect(fs.existsSync(path.join(images, 'work', 'dump.log'))).toBe(true);
    const pidFile = path.join(images, 'pid');
    const r = await restoreDetached(id, ['--pid-file', pidFile]);
    expect(r.stderr).toBe('');
    const st = stateOf(id);
    expect(Number(fs.readFileSync(pidFile, 'utf8'))).toBe(st.pid);
    expect(JSON.parse(tsoci(['ps', '--format', 'json', id]).stdout)).toContain(st.pid);
    expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
    waitFor(() => stateOf(id).status === 'stopped', 10000, 'stopped');
    expect(tsoci(['delete', id]).status).toBe(0);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
  });

  test('pre-dump, then a dump with --parent-path', async () => {
    const mem = spawnSync(CRIU.path!, ['check', '--feature', 'mem_dirty_track'], { encoding: 'utf8' });
    if (mem.status !== 0) {
      process.stdout.write(`checkpoint.test.ts: pre-dump SKIPPED — CRIU's dirty memory tracking is unavailable here: ${(mem.stdout + mem.stderr).trim().split('\n').pop()}\n`);
      // what tsoci says then: one line, and the container keeps running
      const id = uniqueId('crpd');
      await runCounter(id);
      const r = tsoci(['checkpoint', '--pre-dump', '--image-path', path.join(images, 'pre'), id]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^criu is missing features on this host: dirty memory tracking.*\n$/);
      expect(stateOf(id).status).toBe('running');
      return;
    }
    const id = uniqueId('crpd');
    await runCounter(id);
    expect(tsoci(['checkpoint', '--pre-dump', '--image-path', path.join(images, 'pre'), id]).stderr).toBe('');
    expect(stateOf(id).status).toBe('running');
    const cp = tsoci(['checkpoint', '--parent-path', '../pre', '--image-path', path.join(images, 'final'), id]);
    expect(cp.stderr).toBe('');
    const at = count();
    const r = await restoreDetached(id, ['--image-path', path.join(images, 'final')]);
    expect(r.stderr).toBe('');
    waitFor(() => count() > at, 10000, 'counting after restore');
  });

  test('a container with cgroup limits gets them back (a new id: its own cgroup)', async () => {
    const spec = testSpec(COUNTER);
    spec.linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 }, cpu: { shares: 512 } };
    const b = makeBundle(spec);
    try {
      const id = uniqueId('crcg');
      await runCounter(id, b);
      expect(tsoci(['checkpoint', '--image-path', images, id]).status).toBe(0);
      const copy = uniqueId('crcg2');
      const r = await restoreDetached(copy, [], b);
      expect(r.stderr).toBe('');
      const cg = parseCgroups(fs.readFileSync(`/proc/${stateOf(copy).pid}/cgroup`, 'utf8'));
      const v1 = (ctl: string, file: string) => {
        const mount = fs.existsSync(path.join('/sys/fs/cgroup', ctl)) ? ctl : Object.keys(cg).find((k) => k.split(',').includes(ctl))!;
        return fs.readFileSync(path.join('/sys/fs/cgroup', mount, cg[ctl], file), 'utf8').trim();
      };
      if (cg.memory) {
        expect(cg.memory).toContain(copy);
        expect(v1('memory', 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
        expect(v1('pids', 'pids.max')).toBe('50');
        expect(v1('cpu', 'cpu.shares')).toBe('512');
      } else {
        const dir = path.join('/sys/fs/cgroup', cg['']);
        expect(fs.readFileSync(path.join(dir, 'memory.max'), 'utf8').trim()).toBe(String(64 * 1024 * 1024));
        expect(fs.readFileSync(path.join(dir, 'pids.max'), 'utf8').trim()).toBe('50');
      }
      const at = count(b);
      waitFor(() => count(b) > at, 10000, 'counting after restore');
    } finally {
      deleteAll();
      removeBundle(b);
    }
  });

  test('a container in its own network namespace, and one joining a named one', async () => {
    const id = uniqueId('crnet');
    await runCounter(id);
    const netns = fs.readlinkSync(`/proc/${stateOf(id).pid}/ns/net`);
    expect(tsoci(['checkpoint', '--image-path', images, id]).status).toBe(0);
    const r = await restoreDetached(id);
    expect(r.stderr).toBe('');
    const restored = fs.readlinkSync(`/proc/${stateOf(id).pid}/ns/net`);
    expect(restored).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
    expect(restored).toMatch(/^net:\[\d+\]$/);
    expect(netns).toMatch(/^net:\[\d+\]$/);
    expect(tsoci(['delete', '--force', id]).status).toBe(0);

    // a joined namespace is external: dumped by reference, restored into the one named
    const name = `tsoci-crnet-${process.pid}`;
    expect(spawnSync('ip', ['netns', 'add', name]).status).toBe(0);
    const spec = testSpec(COUNTER);
    spec.linux.namespaces = spec.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${name}` } : n));
    const b = makeBundle(spec);
    const images2 = fs.mkdtempSync(path.join(b, 'images-'));
    try {
      const id2 = uniqueId('crnet2');
      await runCounter(id2, b);
      expect(tsoci(['checkpoint', '--image-path', images2, id2]).stderr).toBe('');
      const r2 = await tsociPiped(['restore', '-d', '--bundle', b, '--image-path', images2, id2]);
      expect(r2.stderr).toBe('');
      expect(fs.statSync(`/proc/${stateOf(id2).pid}/ns/net`).ino).toBe(fs.statSync(`/run/netns/${name}`).ino);
    } finally {
      deleteAll();
      removeBundle(b);
      spawnSync('ip', ['netns', 'delete', name]);
    }
  });

  test('a terminal container: restore sends the new pty master to --console-socket', async () => {
    const spec = testSpec(['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; echo tick$i; sleep 0.1; done']);
    spec.process.terminal = true;
    const b = makeBundle(spec);
    const first = new ConsoleListener();
    const second = new ConsoleListener();
    const masters: number[] = [];
    try {
      const id = uniqueId('crtty');
      expect(tsoci(['run', '-d', '--console-socket', first.path, '--bundle', b, id]).stderr).toBe('');
      masters.push(first.receive().fd);
      waitFor(() => fs.existsSync(path.join(b, 'rootfs/tmp/count')) && count(b) >= 3, 10000, 'counting');
      const cp = tsoci(['checkpoint', '--image-path', images, id]);
      expect(cp.stderr).toBe('');
      expect(cp.status).toBe(0);
      const at = count(b);
      const r = tsoci(['restore', '-d', '--console-socket', second.path, '--bundle', b, '--image-path', images, id]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const got = second.receive();
      const out = await readMaster(got.fd, 1000); // closes it
      // the restored shell writes its ticks on the new pty, counting on from the checkpoint
      const ticks = [...out.matchAll(/tick(\d+)/g)].map((m) => Number(m[1]));
      expect(ticks.length).toBeGreaterThan(0);
      expect(Math.max(...ticks)).toBeGreaterThan(at);
      expect(stateOf(id).status).toBe('running');
      // without --console-socket a terminal container is refused before anything is made
      const bad = tsoci(['restore', '-d', '--bundle', b, '--image-path', images, uniqueId('crtty2')]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/^restore: process.terminal is set: --console-socket is required\n$/);
    } finally {
      deleteAll();
      for (const fd of masters) fs.closeSync(fd);
      first.close();
      second.close();
      removeBundle(b);
    }
  });

  test('restore in the foreground waits for the container and exits with its status', async () => {
    const id = uniqueId('crfg');
    await runCounter(id);
    expect(tsoci(['checkpoint', '--image-path', images, id]).status).toBe(0);
    const fg = tsociPiped(['restore', '--bundle', bundle, '--image-path', images, id]);
    waitFor(() => tsoci(['state', id]).stdout.includes('"running"'), 10000, 'restored');
    await new Promise((r) => setTimeout(r, 200));
    expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
    const r = await fg;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(137);
    expect(tsoci(['state', id]).stderr).toContain('does not exist');
  });

  test('restore in the foreground: a signal caught while CRIU restores is held and passed to the container', async () => {
    // the restored shell exits 7 on TERM: tsoci exits 7 only if the signal reached it
    const b = makeBundle(testSpec(['sh', '-c', 'trap "exit 7" TERM; i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done']));
    try {
      const id = uniqueId('crsig');
      await runCounter(id, b);
      expect(tsoci(['checkpoint', '--image-path', images, id]).status).toBe(0);
      const fg = tsociPiped(['restore', '--bundle', b, '--image-path', images, id]);
      // the state directory exists from the claim on, while CRIU has not restored anything yet
      waitFor(() => fs.existsSync(path.join(TEST_ROOT, id)), 10000, 'claimed');
      const pid = restoreProcess(id);
      process.kill(pid, 'SIGTERM');
      const r = await fg;
      expect(r.stderr).toBe('');
      expect(r.status).toBe(7);
      expect(tsoci(['state', id]).stderr).toContain('does not exist');
    } finally {
      deleteAll();
      removeBundle(b);
    }
  });

  test('restore runs prestart, createRuntime and poststart hooks with the restored pid; a bind mount comes back', async () => {
    const out = fs.mkdtempSync(path.join(bundle, 'hooks-'));
    const shared = fs.mkdtempSync(path.join(bundle, 'shared-'));
    const spec = testSpec(['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; echo $i > /data/count; sleep 0.1; done']);
    const hook = (name: string) => ({ path: '/bin/sh', args: ['sh', '-c', `cat > ${out}/${name}.json`] });
    spec.hooks = { prestart: [hook('prestart')], createRuntime: [hook('createRuntime')], poststart: [hook('poststart')] };
    spec.mounts.push({ destination: '/data', type: 'bind', source: shared, options: ['rbind', 'rw'] });
    const b = makeBundle(spec);
    fs.mkdirSync(path.join(b, 'rootfs/data'));
    try {
      const id = uniqueId('crhk');
      await runCounter(id, b);
      expect(tsoci(['checkpoint', '--image-path', images, id]).stderr).toBe('');
      for (const f of fs.readdirSync(out)) fs.rmSync(path.join(out, f));
      const at = Number(fs.readFileSync(path.join(shared, 'count'), 'utf8'));
      const r = await restoreDetached(id, [], b);
      expect(r.stderr).toBe('');
      const pid = stateOf(id).pid;
      const read = (n: string) => JSON.parse(fs.readFileSync(path.join(out, `${n}.json`), 'utf8'));
      expect(read('prestart')).toMatchObject({ id, status: 'creating', pid });
      expect(read('createRuntime')).toMatchObject({ id, status: 'creating', pid });
      expect(read('poststart')).toMatchObject({ id, status: 'running', pid });
      // the host directory is bound again: the restored loop writes on into it
      waitFor(() => Number(fs.readFileSync(path.join(shared, 'count'), 'utf8')) > at, 10000, 'writing into the bind mount');
    } finally {
      deleteAll();
      removeBundle(b);
    }
  });

  test('features names the CRIU in use; --help lists checkpoint and restore', () => {
    const f = JSON.parse(tsoci(['features']).stdout);
    expect(f.annotations['dev.tsoci.checkpoint.criu']).toMatch(/^\/\S+ \d+\.\d+(\.\d+)?$/);
    const help = tsoci(['--help']).stdout;
    expect(help).toMatch(/^\s+checkpoint\s+checkpoint a running container/m);
    expect(help).toMatch(/^\s+restore\s+restore a container from a checkpoint/m);
    expect(help).toMatch(/^\s+--criu value\s+path to the criu binary/m);
  });

  test('restore into a copy of the bundle: the missing bind mount point is made first (like runc)', async () => {
    const shared = fs.mkdtempSync(path.join(bundle, 'shared-'));
    const spec = testSpec(COUNTER);
    spec.mounts.push({ destination: '/data/sub', type: 'bind', source: shared, options: ['rbind'] });
    const b = makeBundle(spec);
    const copy = makeBundle(spec);
    try {
      fs.mkdirSync(path.join(b, 'rootfs/data/sub'), { recursive: true });
      const id = uniqueId('crcp');
      await runCounter(id, b);
      expect(tsoci(['checkpoint', '--image-path', images, id]).stderr).toBe('');
      fs.copyFileSync(path.join(b, 'rootfs/tmp/count'), path.join(copy, 'rootfs/tmp/count'));
      expect(fs.existsSync(path.join(copy, 'rootfs/data'))).toBe(false);
      const r = await restoreDetached(id, [], copy);
      expect(r.stderr).toBe('');
      expect(fs.statSync(path.join(copy, 'rootfs/data/sub')).isDirectory()).toBe(true);
      const at = count(copy);
      waitFor(() => count(copy) > at, 10000, 'counting in the copy');
    } finally {
      deleteAll();
      removeBundle(b);
      removeBundle(copy);
    }
  });
});

function parseCgroups(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.trim().split('\n')) {
    const [, ctl, p] = line.split(':');
    out[ctl] = p;
    for (const c of ctl.split(',')) out[c] = p;
  }
  return out;
}

/** The pid of the `tsoci restore … <id>` process (the launcher execs Node in place: one pid). */
function restoreProcess(id: string): number {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.includes('restore') && argv.includes(id) && !argv[0].endsWith('bash')) return Number(name);
  }
  throw new Error(`no restore process for ${id}`);
}
