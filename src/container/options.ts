/** Global options every lifecycle operation receives from the CLI. */
export interface GlobalOptions {
  root: string;
  systemdCgroup?: boolean;
  rootless?: boolean;
  debug?: boolean;
}

export interface CreateOptions extends GlobalOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** --pidfd-socket: where a pidfd of the container process is sent */
  pidfdSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
}
