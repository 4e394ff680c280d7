/** The cold init host: this process spawns, waits and reaps through the addon. */
import { native } from '../native';
import type { InitHost } from './init-host';
import { reapOrphanedInits } from './orphans';

export const addonInitHost: InitHost = {
  setChildSubreaper: () => native().setChildSubreaper(),
  spawnInit: (path, argv0, env, preserveFds) => native().spawnInit(path, argv0, env, preserveFds),
  waitChildSync: (pid) => native().waitChildSync(pid),
  waitChild: (pid) => native().waitChild(pid),
  reapChild: (pid) => native().reapChild(pid),
  reapOrphanedInits,
};
