import * as fs from 'fs';
import type { LsmHostFacts } from '../plan/lsm';

/**
 * Whether this host runs AppArmor / SELinux, checked the way runc does: AppArmor when
 * securityfs has an apparmor directory and the module's `enabled` parameter reads "Y";
 * SELinux when selinuxfs is mounted at /sys/fs/selinux. Only looked at when the
 * container asks for a label (two stat calls otherwise saved).
 */
export function hostLsmFacts(wanted: { apparmor: boolean; selinux: boolean }): LsmHostFacts {
  const facts: LsmHostFacts = {};
  if (wanted.apparmor) {
    let enabled = false;
    try {
      enabled = fs.existsSync('/sys/kernel/security/apparmor') && fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
    } catch {
      enabled = false;
    }
    facts.hostHasAppArmor = enabled;
  }
  if (wanted.selinux) {
    let enabled = false;
    try {
      enabled = fs.statfsSync('/sys/fs/selinux').type === 0xf97cff8c; // SELINUX_MAGIC
    } catch {
      enabled = false;
    }
    facts.hostHasSELinux = enabled;
  }
  return facts;
}
