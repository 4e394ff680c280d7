import { restoreCallerEnv } from '../../src/util/caller-env';

const RECORD = 'TSOCI_CALLER_NODE_EXTRA_CA_CERTS';

test("the launcher's record for this pid becomes NODE_EXTRA_CA_CERTS again (a value with ':' kept whole), and is removed", () => {
  const env: NodeJS.ProcessEnv = { [RECORD]: '812:/a:b.pem', OTHER: 'x' };
  restoreCallerEnv(env, 812);
  expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/a:b.pem', OTHER: 'x' });
});

test("another pid's record (not set by our launcher) is dropped, not used", () => {
  const env: NodeJS.ProcessEnv = { [RECORD]: '813:/a.pem' };
  restoreCallerEnv(env, 812);
  expect(env).toEqual({});
  const bad: NodeJS.ProcessEnv = { [RECORD]: '/a.pem' };
  restoreCallerEnv(bad, 812);
  expect(bad).toEqual({});
});

test('a NODE_EXTRA_CA_CERTS already set is kept; no record, nothing changes', () => {
  const env: NodeJS.ProcessEnv = { [RECORD]: '812:/a.pem', NODE_EXTRA_CA_CERTS: '/b.pem' };
  restoreCallerEnv(env, 812);
  expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/b.pem' });
  const none: NodeJS.ProcessEnv = { A: '1' };
  restoreCallerEnv(none, 812);
  expect(none).toEqual({ A: '1' });
});
