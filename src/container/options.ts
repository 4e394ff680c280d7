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
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
}
