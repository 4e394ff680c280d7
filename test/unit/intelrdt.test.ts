import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkIntelRdt, removeIntelRdt, setupIntelRdt, RECORD_FILE } from '../../src/intelrdt/intelrdt';
import type { Spec } from '../../src/spec/types';

// resctrl itself is not available on these hosts: a directory tree stands in for it
// (a real resctrl populates a new group with schemata/tasks; here they are plain files).
let root: string;
let cdir: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-resctrl-'));
  fs.mkdirSync(path.join(root, 'info', 'L3_MON'), { recursive: true });
  fs.writeFileSync(path.join(root, 'schemata'), 'L3:0=fff\n');
  cdir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-cdir-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(cdir, { recursive: true, force: true });
});
const spec = (intelRdt: NonNullable<Spec['linux']>['intelRdt']): Spec => ({ ociVersion: '1.3.0', root: { path: 'rootfs' }, linux: { intelRdt } });

test('without resctrl: a clear error', () => {
  expect(() => checkIntelRdt(spec({}), path.join(root, 'missing'))).toThrow('linux.intelRdt: Intel RDT is not available on this host');
  expect(() => checkIntelRdt({ ociVersion: '1.3.0', root: { path: 'rootfs' } }, path.join(root, 'missing'))).not.toThrow();
});

test('a new CLOS group named after the container: schemata written, pid in tasks, monitoring group; removed by destroy', () => {
  setupIntelRdt(spec({ l3CacheSchema: 'L3:0=f', memBwSchema: 'MB:0=50', schemata: ['L2:0=3'], enableMonitoring: true }), 'c1', 4242, cdir, root);
  const g = path.join(root, 'c1');
  // (a real schemata file takes one line per write; the fake keeps the last)
  expect(fs.readFileSync(path.join(g, 'schemata'), 'utf8')).toBe('L2:0=3\n');
  expect(fs.readFileSync(path.join(g, 'tasks'), 'utf8')).toBe('4242');
  fs.mkdirSync(path.join(g, 'mon_groups'), { recursive: true });
  expect(JSON.parse(fs.readFileSync(path.join(cdir, RECORD_FILE), 'utf8'))).toMatchObject({ group: g, created: true });
  removeIntelRdt(cdir);
  expect(fs.existsSync(g)).toBe(false);
  expect(fs.existsSync(path.join(cdir, RECORD_FILE))).toBe(false);
});

test('an existing closID is joined, its schemata left alone, and kept at destroy', () => {
  const g = path.join(root, 'shared');
  fs.mkdirSync(path.join(g, 'mon_groups'), { recursive: true });
  fs.writeFileSync(path.join(g, 'schemata'), 'L3:0=1\n');
  setupIntelRdt(spec({ closID: 'shared', l3CacheSchema: 'L3:0=f', enableMonitoring: true }), 'c2', 77, cdir, root);
  expect(fs.readFileSync(path.join(g, 'schemata'), 'utf8')).toBe('L3:0=1\n');
  expect(fs.readFileSync(path.join(g, 'tasks'), 'utf8')).toBe('77');
  expect(fs.readFileSync(path.join(g, 'mon_groups', 'c2', 'tasks'), 'utf8')).toBe('77');
  removeIntelRdt(cdir);
  expect(fs.existsSync(g)).toBe(true);
  expect(fs.existsSync(path.join(g, 'mon_groups', 'c2'))).toBe(false);
});

test('invalid closID; monitoring without L3_MON', () => {
  expect(() => checkIntelRdt(spec({ closID: '../x' }), root)).toThrow('linux.intelRdt.closID: invalid name');
  fs.rmSync(path.join(root, 'info', 'L3_MON'), { recursive: true });
  expect(() => checkIntelRdt(spec({ enableMonitoring: true }), root)).toThrow('no RDT monitoring');
});
