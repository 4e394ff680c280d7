import type { Root, Type } from 'protobufjs';

/**
 * The CRIU RPC messages tsoci sends and reads (swrk mode), with the field numbers of CRIU's
 * published rpc.proto (images/rpc.proto, proto2). Only the fields tsoci uses are declared:
 * protobuf skips unknown fields, so a newer CRIU's answers still decode.
 */
export const enum ReqType {
  DUMP = 1,
  RESTORE = 2,
  PRE_DUMP = 4,
  NOTIFY = 6,
  FEATURE_CHECK = 9,
  VERSION = 10,
}

export const REQ_TYPE_NAMES: Record<number, string> = { 1: 'DUMP', 2: 'RESTORE', 4: 'PRE_DUMP', 6: 'NOTIFY', 9: 'FEATURE_CHECK', 10: 'VERSION' };

/** criu_cg_mode */
export const CG_MODES: Record<string, number> = { ignore: 0, soft: 3, full: 4, strict: 5, default: 6 };

export interface ExtMount { key: string; val: string }
export interface InheritFd { key: string; fd: number }
export interface JoinNamespace { ns: string; nsFile: string }
export interface CgroupRoot { ctrl?: string; path: string }

export interface CriuOpts {
  imagesDirFd: number;
  pid?: number;
  leaveRunning?: boolean;
  extUnixSk?: boolean;
  tcpEstablished?: boolean;
  evasiveDevices?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  logLevel?: number;
  logFile?: string;
  notifyScripts?: boolean;
  root?: string;
  parentImg?: string;
  trackMem?: boolean;
  autoDedup?: boolean;
  workDirFd?: number;
  linkRemap?: boolean;
  extMnt?: ExtMount[];
  manageCgroups?: boolean;
  cgRoot?: CgroupRoot[];
  rstSibling?: boolean;
  inheritFd?: InheritFd[];
  manageCgroupsMode?: number;
  external?: string[];
  emptyNs?: number;
  joinNs?: JoinNamespace[];
  freezeCgroup?: string;
  tcpSkipInFlight?: boolean;
  lazyPages?: boolean;
  statusFd?: number;
  orphanPtsMaster?: boolean;
}

export interface CriuFeatures { memTrack?: boolean; lazyPages?: boolean }

export interface CriuReq {
  type: ReqType;
  opts?: CriuOpts;
  notifySuccess?: boolean;
  features?: CriuFeatures;
}

export interface CriuResp {
  type: number;
  success: boolean;
  restore?: { pid: number };
  notify?: { script?: string; pid?: number };
  crErrno?: number;
  features?: CriuFeatures;
  crErrmsg?: string;
  version?: { majorNumber: number; minorNumber: number; sublevel?: number; gitid?: string };
}

const opt = (type: string, id: number) => ({ type, id });
const req = (type: string, id: number) => ({ rule: 'required', type, id });
const rep = (type: string, id: number) => ({ rule: 'repeated', type, id });

/** protobufjs JSON descriptor (proto2): names are tsoci's, numbers and types CRIU's. */
const DESCRIPTOR = {
  nested: {
    ExtMount: { fields: { key: req('string', 1), val: req('string', 2) } },
    JoinNamespace: { fields: { ns: req('string', 1), nsFile: req('string', 2) } },
    InheritFd: { fields: { key: req('string', 1), fd: req('int32', 2) } },
    CgroupRoot: { fields: { ctrl: opt('string', 1), path: req('string', 2) } },
    CriuOpts: {
      fields: {
        imagesDirFd: req('int32', 1),
        pid: opt('int32', 2),
        leaveRunning: opt('bool', 3),
        extUnixSk: opt('bool', 4),
        tcpEstablished: opt('bool', 5),
        evasiveDevices: opt('bool', 6),
        shellJob: opt('bool', 7),
        fileLocks: opt('bool', 8),
        logLevel: opt('int32', 9),
        logFile: opt('string', 10),
        notifyScripts: opt('bool', 12),
        root: opt('string', 13),
        parentImg: opt('string', 14),
        trackMem: opt('bool', 15),
        autoDedup: opt('bool', 16),
        workDirFd: opt('int32', 17),
        linkRemap: opt('bool', 18),
        extMnt: rep('ExtMount', 23),
        manageCgroups: opt('bool', 24),
        cgRoot: rep('CgroupRoot', 25),
        rstSibling: opt('bool', 26),
        inheritFd: rep('InheritFd', 27),
        manageCgroupsMode: opt('int32', 34), // an enum on the wire is a varint
        external: rep('string', 37),
        emptyNs: opt('uint32', 38),
        joinNs: rep('JoinNamespace', 39),
        freezeCgroup: opt('string', 44),
        tcpSkipInFlight: opt('bool', 46),
        lazyPages: opt('bool', 48),
        statusFd: opt('int32', 49),
        orphanPtsMaster: opt('bool', 50),
      },
    },
    CriuFeatures: { fields: { memTrack: opt('bool', 1), lazyPages: opt('bool', 2) } },
    CriuReq: { fields: { type: req('int32', 1), opts: opt('CriuOpts', 2), notifySuccess: opt('bool', 3), features: opt('CriuFeatures', 5) } },
    CriuRestoreResp: { fields: { pid: req('int32', 1) } },
    CriuNotify: { fields: { script: opt('string', 1), pid: opt('int32', 2) } },
    CriuVersion: { fields: { majorNumber: req('int32', 1), minorNumber: req('int32', 2), gitid: opt('string', 3), sublevel: opt('int32', 4) } },
    CriuResp: {
      fields: {
        type: req('int32', 1),
        success: req('bool', 2),
        restore: opt('CriuRestoreResp', 4),
        notify: opt('CriuNotify', 5),
        crErrno: opt('int32', 7),
        features: opt('CriuFeatures', 8),
        crErrmsg: opt('string', 9),
        version: opt('CriuVersion', 10),
      },
    },
  },
};

let types: { req: Type; resp: Type } | undefined;

function load(): { req: Type; resp: Type } {
  if (!types) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { Root: RootCtor } = require('protobufjs/light') as { Root: typeof Root };
    const root = RootCtor.fromJSON(DESCRIPTOR);
    types = { req: root.lookupType('CriuReq'), resp: root.lookupType('CriuResp') };
  }
  return types;
}

export function encodeReq(r: CriuReq): Buffer {
  const { req: T } = load();
  return Buffer.from(T.encode(T.fromObject(r)).finish());
}

export function decodeResp(data: Buffer): CriuResp {
  const { resp: T } = load();
  return T.toObject(T.decode(data), { longs: Number, enums: Number }) as CriuResp;
}
