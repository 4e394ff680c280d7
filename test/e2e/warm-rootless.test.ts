import * as fs from 'fs';
import * as path from 'path';
import type { CmdResult } from '../helpers/clients';
import { makeRootfs } from '../helpers/rootfs';
import { createTestUser, giveTo, removeTestUser, rootlessUnavailable, runAs, type TestUser } from '../helpers/rootless-user';

// A rootless user's own pool ($XDG_RUNTIME_DIR/tsoci/.warm, `tsoci warm start` as the user):
// the launcher finds it by the contract's path rule and a rootless run goes warm, with the
// cold path's output and status.

jest.setTimeout(180000);

const UNAVAILABLE = rootlessUnavailable();
if (UNAVAILABLE) process.stdout.write(`warm-rootless.test.ts: SKIPPED — ${UNAVAILABLE}\n`);
const describeIfRootless = UNAVAILABLE ? describe.skip : describe;

describeIfRootless('a rootless user\'s warm pool', () => {
  let u: TestUser;
  let bundle: string;
  const ts = (args: string[], env: Record<string, string> = {}): CmdResult => runAs(u, [u.tsoci, ...args], { cwd: bundle, env });
  const served = (): Record<string, number> => JSON.parse(ts(['warm', 'status', '--format', 'json']).stdout).served;
  const stateRoot = () => path.join(u.xdg, 'tsoci');

  beforeAll(() => {
    u = createTestUser('tswr');
    bundle = path.join(u.home, 'bundle');
    makeRootfs(path.join(bundle, 'rootfs'));
    giveTo(u, bundle);
    expect(ts(['spec', '--rootless']).status).toBe(0);
    const c = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    c.process.terminal = false;
    c.process.args = ['sh', '-c', 'id -u; echo err >&2; exit 7'];
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(c));
    giveTo(u, bundle);
  });

  afterAll(() => {
    if (!u) return;
    ts(['warm', 'stop']);
    for (const id of fs.existsSync(stateRoot()) ? fs.readdirSync(stateRoot()).filter((n) => !n.startsWith('.')) : []) ts(['delete', '--force', id]);
    expect(removeTestUser(u)).toEqual([]);
  });

  test('run: warm through $XDG_RUNTIME_DIR/tsoci/.warm, same result as cold', async () => {
    const cold = ts(['run', 'wr-cold'], { TSOCI_WARM_DIR: '/nonexistent/tsoci-warm' });
    expect(cold).toMatchObject({ status: 7, stdout: '0\n', stderr: 'err\n' });
    const start = ts(['warm', 'start']);
    expect(start.status).toBe(0);
    expect(fs.statSync(path.join(u.xdg, 'tsoci', '.warm', 'pool.sock')).uid).toBe(u.uid);
    for (let i = 0; i < 200 && JSON.parse(ts(['warm', 'status', '--format', 'json']).stdout).workers.filter((w: { state: string }) => w.state === 'ready').length < 1; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = served().run ?? 0;
    const warm = ts(['run', 'wr-warm'], { TSOCI_WARM_WAIT_MS: '3000' });
    expect({ ...warm, ms: 0 }).toEqual({ ...cold, ms: 0 });
    expect(served().run).toBe(before + 1);
  });
});
