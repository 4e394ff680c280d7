import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { cgroupDirs } from '../helpers/clients';
import { deleteAll, tsoci, uniqueId, TEST_ROOT, TSOCI } from '../helpers/tsoci';

// No lock wait is unbounded or deaf to signals, and a foreground run ends on SIGTERM/SIGINT
// in every phase, leaving nothing behind (the --preserve-fds hang of issue 12).

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

function start(args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; ended: Promise<Ended> } {
  const t0 = Date.now();
  const child = spawn(TSOCI, ['--root', TEST_ROOT, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
  const ended = new Promise<Ended>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - t0 });
    }),
  );
  return { child, ended };
}

/** A process holding the container's lock (flock(1)) until killed. */
async function holdLock(id: string): Promise<ChildProcess> {
  const ready = path.join(os.tmpdir(), `tsoci-lock-held-${id}`);
  const holder = spawn('flock', ['-x', '-o', path.join(TEST_ROOT, id, 'lock'), 'sh', '-c', `touch ${ready}; exec sleep 600`], { stdio: 'ignore' });
  for (let i = 0; i < 500 && !fs.existsSync(ready); i++) await new Promise((r) => setTimeout(r, 20));
  fs.rmSync(ready, { force: true });
  return holder;
}

async function stopHolder(holder: ChildProcess): Promise<void> {
  const gone = new Promise((r) => holder.on('close', r));
  holder.kill('SIGKILL');
  await gone;
}

function leftBehind(id: string): string[] {
  const found: string[] = [];
  if (fs.existsSync(path.join(TEST_ROOT, id))) found.push(`state dir of ${id}`);
  for (const d of cgroupDirs()) if (d.includes(id)) found.push(d);
  return found;
}

describe('lock waits', () => {
  let bundle: string;
  beforeAll(() => {
    bundle = makeBundle(testSpec(['sleep', '600']));
  });
  afterAll(() => removeBundle(bundle));
  afterEach(() => deleteAll());

  test('a lock held by another process: the wait ends with a clear error after the timeout', async () => {
    const id = uniqueId('lockto');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const holder = await holdLock(id);
    try {
      const r = await start(['delete', '--force', id], { ...process.env, TSOCI_LOCK_TIMEOUT_MS: '500' }).ended;
      expect(r.stderr).toContain(`lock ${path.join(TEST_ROOT, id)}: still held by another process after 0.5 s`);
      expect(r.code).toBe(1);
      expect(r.ms).toBeLessThan(10000);
      expect(tsoci(['state', id]).status).toBe(0); // nothing was deleted
      const s = await start(['start', id], { ...process.env, TSOCI_LOCK_TIMEOUT_MS: '300' }).ended;
      expect(s.stderr).toContain('still held by another process after 0.3 s');
      expect(s.code).toBe(1);
    } finally {
      await stopHolder(holder);
    }
    expect(tsoci(['delete', '--force', id]).status).toBe(0);
    expect(leftBehind(id)).toEqual([]);
  });

  test('SIGTERM ends a command waiting for a lock at once', async () => {
    const id = uniqueId('lockterm');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    const holder = await holdLock(id);
    try {
      const { child, ended } = start(['delete', '--force', id]);
      await new Promise((r) => setTimeout(r, 1000)); // tsoci is up and waiting by now
      child.kill('SIGTERM');
      const r = await ended;
      expect(r.signal).toBe('SIGTERM');
      expect(r.ms).toBeLessThan(15000);
    } finally {
      await stopHolder(holder);
    }
    expect(tsoci(['state', id]).status).toBe(0);
  });
});

describe('a foreground run ends on SIGTERM/SIGINT in every phase', () => {
  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s while create runs its prestart hook: the container is deleted, exit %i', async (sig, status) => {
    const marker = path.join(os.tmpdir(), `tsoci-hook-${process.pid}-${sig}`);
    const b = makeBundle(testSpec(['sleep', '600'], { hooks: { prestart: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${marker}; sleep 2`] }] } }));
    const id = uniqueId('runstop');
    try {
      const { child, ended } = start(['run', '--bundle', b, id]);
      for (let i = 0; i < 1000 && !fs.existsSync(marker); i++) await new Promise((r) => setTimeout(r, 10));
      expect(fs.existsSync(marker)).toBe(true);
      child.kill(sig);
      const r = await ended;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(status);
      expect(leftBehind(id)).toEqual([]);
    } finally {
      fs.rmSync(marker, { force: true });
      removeBundle(b);
      deleteAll();
    }
  });

  test('SIGTERM right after the start (tsoci still loading): nothing is left either', async () => {
    const b = makeBundle(testSpec(['sleep', '600']));
    try {
      for (const delay of [0, 30, 80, 150]) {
        const id = uniqueId('runearly');
        const { child, ended } = start(['run', '--bundle', b, id]);
        await new Promise((r) => setTimeout(r, delay));
        child.kill('SIGTERM');
        const r = await Promise.race([ended, new Promise<null>((res) => setTimeout(() => res(null), 5000))]);
        if (r === null) {
          // the container runs (sleep as pid 1 ignores the forwarded SIGTERM, as with runc): kill it
          expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
          expect((await ended).code).toBe(137);
        } else {
          expect([143, null]).toContain(r.code);
        }
        expect(leftBehind(id)).toEqual([]);
      }
    } finally {
      removeBundle(b);
      deleteAll();
    }
  });
});
