/**
 * The systemd driver's D-Bus side, through dbus-next. Built as its own bundle
 * (dist/systemd-dbus.js, scripts/bundle.mjs) and loaded by systemd.ts only when a command
 * talks to systemd: dbus-next and its dependencies never weigh on other commands' start-up.
 *
 * Errors leave this module as plain Errors (their messages are complete); systemd.ts turns
 * them into TsociError (this bundle has its own copy of the error classes).
 *
 * Protocol, as runc does it (go-systemd): AddMatch + Manager.Subscribe so JobRemoved is
 * sent, then StartTransientUnit(name, "replace", props, []) → job path, and wait for
 * JobRemoved of that job: "done" is success, anything else a failure (then ResetFailedUnit).
 * "UnitExists" once: ResetFailedUnit (a failed leftover) and one retry. StopUnit the same
 * way. The bus address is DBUS_SYSTEM_BUS_ADDRESS or the standard system socket.
 */
import { systemBus, Message, MessageType, Variant, type MessageBus } from 'dbus-next';
import type { LinuxResources } from '../spec/types';
import { resourceProperties, scopeProperties, systemdCpuQuota, type ScopeInput, type SdProp } from './systemd-props';

const DEST = 'org.freedesktop.systemd1';
const OBJ = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
/** the D-Bus specification's default (dbus-next's systemBus() uses it too) */
const DEFAULT_ADDRESS = 'unix:path=/var/run/dbus/system_bus_socket';
const CALL_TIMEOUT_MS = 25000;
const JOB_TIMEOUT_MS = 30000;
const P = 'systemd cgroup driver';

interface DBusErrorLike {
  type?: string;
  text?: string;
  message?: string;
}

function dbusName(err: unknown): string {
  return (err as DBusErrorLike)?.type ?? '';
}

function describeErr(err: unknown): string {
  if (err instanceof BusFailure) return err.raw;
  const e = err as DBusErrorLike;
  if (e?.type) return `${e.text || e.message || ''} (${e.type})`.trim();
  return e?.message ?? String(err);
}

/** The connection itself failed (socket error, closed): `raw` is the cause alone. */
class BusFailure extends Error {
  constructor(readonly raw: string, address: string) {
    super(`${P}: system bus at ${address}: ${raw}`);
  }
}

function timeout<T>(ms: number, what: string): { promise: Promise<T>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${P}: timed out after ${ms / 1000}s waiting for ${what}`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** One connection to the system bus, subscribed to the manager's JobRemoved signals. */
export class SystemdConnection {
  private readonly removed = new Map<string, string>();
  private readonly waiters = new Map<string, (result: string) => void>();
  private failure!: Promise<never>;
  private closed = false;

  private constructor(private readonly bus: MessageBus, readonly address: string) {}

  static async open(): Promise<SystemdConnection> {
    const address = process.env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_ADDRESS;
    let bus: MessageBus;
    try {
      bus = systemBus();
    } catch (err) {
      throw new Error(`${P}: cannot connect to the system bus at ${address}: ${describeErr(err)}`);
    }
    const conn = new SystemdConnection(bus, address);
    conn.failure = new Promise<never>((_, reject) => {
      bus.on('error', (err) => reject(new BusFailure(describeErr(err), address)));
    });
    conn.failure.catch(() => undefined); // observed by every race below
    bus.on('message', (msg) => conn.onMessage(msg));
    const t = timeout<void>(CALL_TIMEOUT_MS, `the system bus at ${address}`);
    try {
      await Promise.race([new Promise<void>((resolve) => bus.on('connect', () => resolve())), conn.failure, t.promise]);
      await conn.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [
        `type='signal',sender='${DEST}',path='${OBJ}',interface='${MANAGER}',member='JobRemoved'`,
      ]);
      try {
        await conn.manager('Subscribe', '', []);
      } catch (err) {
        if (!/AlreadySubscribed/.test(dbusName(err))) throw err;
      }
    } catch (err) {
      conn.close();
      // a D-Bus error here: the bus answers, systemd is not on it (ServiceUnknown) or refuses us
      if (dbusName(err)) throw new Error(`${P}: systemd is not reachable on the system bus at ${address}: ${describeErr(err)}`);
      throw new Error(`${P}: cannot connect to the system bus at ${address}: ${describeErr(err)}`);
    } finally {
      t.cancel();
    }
    return conn;
  }

  private onMessage(msg: Message): void {
    if (msg.type !== MessageType.SIGNAL || msg.member !== 'JobRemoved' || msg.interface !== MANAGER) return;
    const [, job, , result] = msg.body as [number, string, string, string];
    const waiter = this.waiters.get(job);
    if (waiter) waiter(result);
    else this.removed.set(job, result); // the signal came before the method reply
  }

  /** A method call raced against the connection failing and a timeout. */
  async call(dest: string, path: string, iface: string, member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    const t = timeout<never>(CALL_TIMEOUT_MS, `${member}`);
    try {
      const msg = new Message({ destination: dest, path, interface: iface, member, signature, body });
      const reply = await Promise.race([this.bus.call(msg), this.failure, t.promise]);
      return reply?.body ?? [];
    } finally {
      t.cancel();
    }
  }

  manager(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    return this.call(DEST, OBJ, MANAGER, member, signature, body);
  }

  /** systemd's version number ("252", "v245.4-1.fc32" → 245); -1 when unknown. */
  async version(): Promise<number> {
    try {
      const [v] = await this.call(DEST, OBJ, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER, 'Version']);
      return parseVersion(String((v as Variant).value));
    } catch {
      return -1;
    }
  }

  private waitJob(job: string, what: string): Promise<string> {
    const early = this.removed.get(job);
    if (early !== undefined) return Promise.resolve(early);
    const t = timeout<string>(JOB_TIMEOUT_MS, what);
    const done = new Promise<string>((resolve) => this.waiters.set(job, resolve));
    return Promise.race([done, this.failure, t.promise]).finally(() => {
      t.cancel();
      this.waiters.delete(job);
    });
  }

  async resetFailed(unit: string): Promise<void> {
    try {
      await this.manager('ResetFailedUnit', 's', [unit]);
    } catch {
      /* not loaded, or not failed: nothing to reset */
    }
  }

  /**
   * StartTransientUnit and wait for its job. `refused` runs when systemd answered the call
   * with an error: the unit was not made by us (it may be another container's, "UnitExists").
   */
  async startUnit(unit: string, props: SdProp[], refused: () => void = () => undefined): Promise<void> {
    const body = [unit, 'replace', props.map(toVariant), []];
    let job: string | undefined;
    for (let attempt = 0; job === undefined; attempt++) {
      try {
        [job] = (await this.manager('StartTransientUnit', 'ssa(sv)a(sa(sv))', body)) as [string];
      } catch (err) {
        if (attempt === 0 && /UnitExists/.test(dbusName(err))) {
          await this.resetFailed(unit); // maybe a failed leftover of the same name
          continue;
        }
        if (dbusName(err)) refused();
        throw new Error(`${P}: cannot create unit ${unit}: ${describeErr(err)}`);
      }
    }
    let result: string;
    try {
      result = await this.waitJob(job, `systemd to create ${unit}`);
    } catch (err) {
      await this.resetFailed(unit);
      throw err;
    }
    if (result !== 'done') {
      await this.resetFailed(unit);
      throw new Error(`${P}: error creating unit ${unit}: job ${result}`);
    }
  }

  /** StopUnit and wait; a unit that is not loaded is already stopped. */
  async stopUnit(unit: string): Promise<void> {
    let job: string;
    try {
      [job] = (await this.manager('StopUnit', 'ss', [unit, 'replace'])) as [string];
    } catch (err) {
      if (/NoSuchUnit/.test(dbusName(err))) return;
      throw new Error(`${P}: cannot stop unit ${unit}: ${describeErr(err)}`);
    }
    const result = await this.waitJob(job, `systemd to stop ${unit}`);
    await this.resetFailed(unit); // a failed unit would stay loaded
    if (result !== 'done') throw new Error(`${P}: error stopping unit ${unit}: job ${result}`);
  }

  async setProperties(unit: string, props: SdProp[]): Promise<void> {
    if (props.length === 0) return;
    try {
      await this.manager('SetUnitProperties', 'sba(sv)', [unit, true, props.map(toVariant)]);
    } catch (err) {
      throw new Error(`${P}: cannot set the properties of unit ${unit}: ${describeErr(err)}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.bus.disconnect();
    } catch {
      /* already gone */
    }
  }
}

export function parseVersion(text: string): number {
  const m = /^"?v?(\d+)/.exec(text);
  return m ? Number(m[1]) : -1;
}

function toVariant(prop: SdProp): [string, Variant] {
  const value = prop.sig === 'ay' ? Buffer.from(prop.value as number[]) : prop.value;
  return [prop.name, new Variant(prop.sig, value)];
}

async function withConnection<T>(fn: (c: SystemdConnection) => Promise<T>): Promise<T> {
  const conn = await SystemdConnection.open();
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/** What scopeProperties needs, less systemd's version (asked on the connection). */
export interface StartScopeRequest extends Omit<ScopeInput, 'version'> {
  /**
   * onUnit(unit): once connected, just before StartTransientUnit (from then on the unit may
   * be ours); onUnit(undefined): systemd refused the call, the unit is not ours.
   */
  onUnit(unit: string | undefined): void;
}

export interface StartScopeResult {
  /** the resources to write to the cgroup files (the CPU quota as systemd rounded it) */
  resources?: LinuxResources;
  warnings: string[];
}

export async function startScope(req: StartScopeRequest): Promise<StartScopeResult> {
  return withConnection(async (conn) => {
    const version = await conn.version();
    const { props, warnings } = scopeProperties({ ...req, version });
    req.onUnit(req.unit);
    await conn.startUnit(req.unit, props, () => req.onUnit(undefined));
    return { resources: filesResources(req.resources), warnings };
  });
}

export async function stopScope(unit: string): Promise<void> {
  return withConnection((conn) => conn.stopUnit(unit));
}

export async function updateScope(unit: string, resources: LinuxResources, v2: boolean): Promise<StartScopeResult> {
  return withConnection(async (conn) => {
    const version = await conn.version();
    const { props, warnings } = resourceProperties(resources, { v2, version, update: true });
    await conn.setProperties(unit, props);
    return { resources: filesResources(resources), warnings };
  });
}

/** The files get the CPU quota systemd actually applies (rounded up to a whole percent). */
function filesResources(r: LinuxResources | undefined): LinuxResources | undefined {
  const quota = r?.cpu?.quota;
  if (!r || !quota || quota <= 0) return r;
  return { ...r, cpu: { ...r.cpu, quota: systemdCpuQuota(quota, r.cpu?.period ?? 0) } };
}
