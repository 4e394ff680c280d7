import type { Argv } from 'yargs';
import type { CriuFlags } from '../criu';

/** The CRIU flags checkpoint and restore share (runc's names). */
export interface CriuArgs {
  criu?: string;
  'image-path'?: string;
  'work-path'?: string;
  'tcp-established'?: boolean;
  'ext-unix-sk'?: boolean;
  'shell-job'?: boolean;
  'file-locks'?: boolean;
  'manage-cgroups-mode'?: string;
  'empty-ns'?: string[];
  'auto-dedup'?: boolean;
  'lazy-pages'?: boolean;
}

export function criuFlags<T>(y: Argv<T>): Argv<T & CriuArgs> {
  return y
    .option('image-path', { type: 'string', describe: 'path to the CRIU image files (default ./checkpoint)' })
    .option('work-path', { type: 'string', describe: 'path for CRIU work files and logs (default: the image path)' })
    .option('tcp-established', { type: 'boolean', describe: 'allow open tcp connections' })
    .option('ext-unix-sk', { type: 'boolean', describe: 'allow external unix sockets' })
    .option('shell-job', { type: 'boolean', describe: 'allow shell jobs' })
    .option('file-locks', { type: 'boolean', describe: 'handle file locks, for safety' })
    .option('manage-cgroups-mode', { type: 'string', describe: 'cgroups mode: soft|full|strict|ignore (default: soft)' })
    .option('empty-ns', { type: 'string', array: true, describe: 'create a namespace, but do not restore its properties (network)' })
    .option('auto-dedup', { type: 'boolean', describe: 'enable auto deduplication of memory images' })
    .option('lazy-pages', { type: 'boolean', describe: 'use userfaultfd to lazily restore memory pages' }) as unknown as Argv<T & CriuArgs>;
}

export function criuOptions(argv: CriuArgs): CriuFlags & { criu?: string; imagePath?: string } {
  return {
    criu: argv.criu,
    imagePath: argv['image-path'],
    workPath: argv['work-path'] ? argv['work-path'] : undefined,
    tcpEstablished: argv['tcp-established'],
    extUnixSk: argv['ext-unix-sk'],
    shellJob: argv['shell-job'],
    fileLocks: argv['file-locks'],
    manageCgroupsMode: argv['manage-cgroups-mode'],
    emptyNs: argv['empty-ns'],
    autoDedup: argv['auto-dedup'],
    lazyPages: argv['lazy-pages'],
  };
}
