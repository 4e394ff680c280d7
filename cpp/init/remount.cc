#include "remount.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "errors.h"

#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

namespace tsoci {

namespace {

constexpr unsigned long ATIME_MODES = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
constexpr unsigned long ATIME_FLAGS = ATIME_MODES | MS_NODIRATIME;
// what the kernel locks (MNT_LOCK_*) on mounts inherited into another user namespace
constexpr unsigned long LOCKABLE = MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | ATIME_FLAGS;

std::string flag_names(unsigned long f) {
  static const struct {
    unsigned long flag;
    const char* name;
  } names[] = {{MS_RDONLY, "ro"},       {MS_NOSUID, "nosuid"},           {MS_NODEV, "nodev"},
               {MS_NOEXEC, "noexec"},   {MS_NOATIME, "noatime"},         {MS_NODIRATIME, "nodiratime"},
               {MS_RELATIME, "relatime"}, {MS_STRICTATIME, "strictatime"}, {MS_NOSYMFOLLOW, "nosymfollow"}};
  std::string s;
  for (auto& n : names)
    if (f & n.flag) s += (s.empty() ? "" : ",") + std::string(n.name);
  return s;
}

}  // namespace

unsigned long mount_flags_of(const std::string& target) {
  struct statvfs sv;
  if (statvfs(target.c_str(), &sv) < 0) return 0;
  static const struct {
    unsigned long st, ms;
  } map[] = {{ST_RDONLY, MS_RDONLY},         {ST_NOSUID, MS_NOSUID},       {ST_NODEV, MS_NODEV},
             {ST_NOEXEC, MS_NOEXEC},         {ST_NOATIME, MS_NOATIME},     {ST_NODIRATIME, MS_NODIRATIME},
             {ST_RELATIME, MS_RELATIME},     {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW}};
  unsigned long f = 0;
  for (auto& e : map)
    if (sv.f_flag & e.st) f |= e.ms;
  if (!(f & ATIME_MODES)) f |= MS_STRICTATIME;  // not a per-mount bit: the absence of the others
  return f;
}

int remount(const std::string& target, unsigned long flags) {
  flags |= MS_REMOUNT | MS_BIND;
  if (mount("", target.c_str(), nullptr, flags, nullptr) == 0) return 0;
  int err = errno;
  if (err != EPERM) return err;
  if (mount("", target.c_str(), nullptr, flags | (mount_flags_of(target) & LOCKABLE), nullptr) == 0) return 0;
  return err;
}

void bind_remount(const Mount& m, const std::string& target, const std::string& where) {
  unsigned long flags = m.remountFlags | MS_REMOUNT | MS_BIND;
  if (mount("", target.c_str(), nullptr, flags, nullptr) == 0) return;
  int err = errno;
  std::string prefix = "error mounting \"" + m.source + "\" to rootfs at \"" + m.destination + "\": ";
  if (err != EPERM) fail("mount", m.destination, err, prefix + "remount " + where);
  unsigned long have = mount_flags_of(target);
  if (unsigned long locked = have & m.clearedFlags & LOCKABLE)
    fail("mount", m.destination, err, prefix + "cannot clear locked flags " + flag_names(locked));
  // MS_STRICTATIME overrides, and MS_NOATIME hides MS_RELATIME, silently: refuse instead
  if ((m.remountFlags & ATIME_FLAGS) && (m.remountFlags & ATIME_FLAGS) != (have & ATIME_FLAGS))
    fail("mount", m.destination, err, prefix + "cannot change locked atime flags " + flag_names(have & ATIME_FLAGS));
  if (mount("", target.c_str(), nullptr, flags | (have & LOCKABLE), nullptr) < 0)
    fail("mount", m.destination, errno, prefix + "remount with locked flags " + flag_names(have & LOCKABLE) + " re-applied");
}

}  // namespace tsoci
