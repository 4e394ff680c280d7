import * as fs from 'fs';
import * as path from 'path';
import { makeBundle, removeBundle } from '../helpers/rootfs';
import { testSpec } from '../helpers/spec';
import { deleteAll, stateOf, tsoci, uniqueId, TEST_ROOT } from '../helpers/tsoci';
import { findTestCriu, tsociPiped } from '../helpers/criu';
import { waitFor } from '../helpers/cgroups';

// checkpoint/restore failures: one line, exit 1, the container (or nothing) left as it was.
const CRIU = findTestCriu();
if (!CRIU.path) process.stdout.write(`checkpoint-errors.test.ts: SKIPPED — ${CRIU.reason}\n`);
const describeIfCriu = CRIU.path ? describe : describe.skip;

const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done'];

describeIfCriu('checkpoint / restore: bad input', () => {
  let bundle: string;
  let images: string;
  const count = () => Number(fs.readFileSync(path.join(bundle, 'rootfs/tmp/count'), 'utf8').trim() || '0');
  beforeAll(() => {
    bundle = makeBundle(testSpec(COUNTER));
  });
  beforeEach(() => {
    images = fs.mkdtempSync(path.join(bundle, 'images-'));
  });
  afterEach(() => {
    deleteAll();
    fs.rmSync(images, { recursive: true, force: true });
  });
  afterAll(() => removeBundle(bundle));

  const oneLine = (r: { status: number; stderr: string }, re: RegExp) => {
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^[^\n]+\n$/);
    expect(r.stderr).toMatch(re);
  };

  test('checkpoint of a created or a stopped container: runc\'s error, the container as it was', () => {
    const id = uniqueId('crbad');
    expect(tsoci(['create', '--bundle', bundle, id]).status).toBe(0);
    oneLine(tsoci(['checkpoint', '--image-path', images, id]), /Container cannot be checkpointed in created state/);
    expect(stateOf(id).status).toBe('created');
    expect(tsoci(['kill', id, 'KILL']).status).toBe(0);
    waitFor(() => stateOf(id).status === 'stopped', 10000, 'stopped');
    oneLine(tsoci(['checkpoint', '--image-path', images, id]), /Container cannot be checkpointed in stopped state/);
    expect(stateOf(id).status).toBe('stopped');
    oneLine(tsoci(['checkpoint', '--image-path', images, 'no-such-id']), /container "no-such-id" does not exist/);
    expect(fs.readdirSync(images)).toEqual([]);
  });

  test('CRIU missing or not CRIU: one line, the container keeps running', async () => {
    const id = uniqueId('crmiss');
    const r = await tsociPiped(['run', '-d', '--bundle', bundle, id]);
    expect(r.status).toBe(0);
    oneLine(tsoci(['--criu', '/nonexistent/criu', 'checkpoint', '--image-path', images, id]), /criu \/nonexistent\/criu: not found or not executable/);
    const env = { ...process.env, TSOCI_CRIU_CACHE: '/nonexistent', PATH: path.dirname(process.execPath) };
    oneLine(tsoci(['checkpoint', '--image-path', images, id], { env }), /criu not found \(looked in \/nonexistent\/<version>\/criu and \$PATH\)/);
    oneLine(tsoci(['--criu', '/bin/true', 'checkpoint', '--image-path', images, id]), /criu \/bin\/true: cannot get its version/);
    expect(stateOf(id).status).toBe('running');
  });

  test('bad flags: --manage-cgroups-mode, --empty-ns, --parent-path', async () => {
    const id = uniqueId('crflag');
    expect((await tsociPiped(['run', '-d', '--bundle', bundle, id])).status).toBe(0);
    oneLine(tsoci(['checkpoint', '--manage-cgroups-mode', 'bogus', '--image-path', images, id]), /invalid manage-cgroups-mode value/);
    oneLine(tsoci(['checkpoint', '--empty-ns', 'pid', '--image-path', images, id]), /namespace "pid" is not supported/);
    oneLine(tsoci(['checkpoint', '--parent-path', '/abs', '--image-path', images, id]), /--parent-path must be relative/);
    oneLine(tsoci(['checkpoint', '--parent-path', 'missing', '--image-path', images, id]), /invalid --parent-path: stat .*missing: no such file or directory/);
    expect(stateOf(id).status).toBe('running');
  });

  test('restore from a missing image directory, or one that is not an image: nothing is left behind', async () => {
    const id = uniqueId('crimg');
    oneLine(await tsociPiped(['restore', '-d', '--bundle', bundle, '--image-path', path.join(images, 'missing'), id]), /restore: image directory .*missing: no such file or directory/);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    oneLine(await tsociPiped(['restore', '-d', '--bundle', bundle, '--image-path', images, id]), /descriptors\.json: no such file or directory/);
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
  });

  test('restore from a corrupt image: CRIU\'s log and its error line; no state, cgroup or mount left', async () => {
    const id = uniqueId('crcor');
    expect((await tsociPiped(['run', '-d', '--bundle', bundle, id])).status).toBe(0);
    expect(tsoci(['checkpoint', '--image-path', images, id]).status).toBe(0);
    for (const f of fs.readdirSync(images).filter((f) => f.startsWith('pstree') || f.startsWith('core-'))) {
      fs.writeFileSync(path.join(images, f), Buffer.from('not a criu image, not at all'));
    }
    const r = await tsociPiped(['restore', '-d', '--bundle', bundle, '--image-path', images, id]);
    oneLine(r, new RegExp(`criu RESTORE failed.*\\(${images.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/restore\\.log: .*Error`));
    expect(fs.existsSync(path.join(TEST_ROOT, id))).toBe(false);
    expect(fs.readdirSync(TEST_ROOT).filter((e) => e.startsWith('.criu-root'))).toEqual([]);
    expect(fs.existsSync(`/sys/fs/cgroup/pids/${id}`) || fs.existsSync(`/sys/fs/cgroup/unified/${id}`)).toBe(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('.criu-root');
    // a corrupt descriptors.json: said before anything is made
    fs.writeFileSync(path.join(images, 'descriptors.json'), '{');
    oneLine(await tsociPiped(['restore', '-d', '--bundle', bundle, '--image-path', images, id]), /descriptors\.json: not a checkpoint image/);
  });

  test('a dump CRIU refuses (stdout a host file it cannot see): its log line, the container keeps running', () => {
    const id = uniqueId('crfile');
    // tsoci() gives the container tsoci's stdout: a file under the host's /tmp
    expect(tsoci(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    const pid = stateOf(id).pid;
    const r = tsoci(['checkpoint', '--image-path', images, id]);
    oneLine(r, /^criu DUMP failed \(.*\/dump\.log: Error \(criu\/[\w.-]+:\d+\): .*fd=1/);
    expect(stateOf(id)).toMatchObject({ status: 'running', pid });
    const at = count();
    waitFor(() => count() > at, 10000, 'counting after the failed dump');
  });

  test('restore into an id that exists: refused, that container untouched', async () => {
    const id = uniqueId('crdup');
    expect((await tsociPiped(['run', '-d', '--bundle', bundle, id])).status).toBe(0);
    expect(tsoci(['checkpoint', '--leave-running', '--image-path', images, id]).status).toBe(0);
    const before = stateOf(id);
    oneLine(await tsociPiped(['restore', '-d', '--bundle', bundle, '--image-path', images, id]), new RegExp(`container with id exists: ${id}`));
    expect(stateOf(id)).toMatchObject({ status: 'running', pid: before.pid });
  });
});
