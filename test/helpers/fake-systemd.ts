import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A private dbus-daemon (Debian package "dbus") with the fake systemd of
 * test/fixtures/fake-systemd/fake-systemd.js on it: these hosts have no systemd, so the
 * systemd cgroup driver is tested against the fake. `env` is what tsoci needs to use it:
 * DBUS_SYSTEM_BUS_ADDRESS and the test-only TSOCI_SYSTEMD_ASSUME_RUNNING=1.
 */
export interface FakeSystemd {
  address: string;
  env: NodeJS.ProcessEnv;
  /** what the fake recorded: every call (with decoded properties) and the loaded units */
  state(): FakeState;
  /** test hook: a failed unit of this name is loaded (as a leftover would be) */
  addFailedUnit(name: string): void;
  stop(): Promise<void>;
}

export interface FakeCall {
  method: string;
  unit?: string;
  runtime?: boolean;
  /** the last value of each property (bigints as strings, byte arrays as number arrays) */
  props?: Record<string, any>;
  /** [name, value] in the order sent */
  sequence?: [string, any][];
}

export interface FakeState {
  calls: FakeCall[];
  units: Record<string, { state: string; slice: string; dirs: string[] }>;
}

const FAKE = path.resolve(__dirname, '..', 'fixtures', 'fake-systemd', 'fake-systemd.js');

function busConfig(socket: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>tsoci-test</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;
}

function waitForLine(child: ChildProcess, what: string, test: (line: string) => boolean, timeoutMs = 15000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what}: not ready after ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stderr?.on('data', (d) => (err += String(d)));
    child.stdout!.on('data', (d) => {
      buf += String(d);
      for (const line of buf.split('\n')) {
        if (test(line.trim())) {
          clearTimeout(timer);
          resolve(line.trim());
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready: ${err}`));
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${e.message} (scripts/setup.sh installs the "dbus" package)`));
    });
  });
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

/** `service: false`: only the bus, nobody owns org.freedesktop.systemd1 (a host without systemd). */
export async function startFakeSystemd(opts: { service?: boolean } = {}): Promise<FakeSystemd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsoci-fake-systemd-'));
  const conf = path.join(dir, 'bus.conf');
  const stateFile = path.join(dir, 'state.json');
  fs.writeFileSync(conf, busConfig(path.join(dir, 'bus')));
  let daemon: ChildProcess | undefined;
  let fake: ChildProcess | undefined;
  const stop = async () => {
    await stopChild(fake);
    await stopChild(daemon);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    daemon = spawn('dbus-daemon', [`--config-file=${conf}`, '--nofork', '--nopidfile', '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const address = await waitForLine(daemon, 'dbus-daemon', (l) => l.startsWith('unix:'));
    const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address, TSOCI_SYSTEMD_ASSUME_RUNNING: '1' };
    if (opts.service !== false) {
      fake = spawn(process.execPath, [FAKE], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, FAKE_SYSTEMD_STATE: stateFile } });
      await waitForLine(fake, 'fake systemd', (l) => l === 'ready');
    }
    return {
      address,
      env,
      state: () => JSON.parse(fs.readFileSync(stateFile, 'utf8')) as FakeState,
      addFailedUnit: (name) => {
        const args = [`--bus=${address}`, '--print-reply', '--dest=org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.tsoci.FakeSystemd.AddFailedUnit', `string:${name}`];
        const r = spawnSync('dbus-send', args, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`dbus-send: ${r.stderr}`);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
