// The LaunchPlan (src/plan/launch-plan.ts) as plain structs, parsed once in stage0
// before anything forks.
#pragma once
#include <sys/resource.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "extras.h"
#include "hooks.h"
#include "mount_ext.h"
#include "mempolicy.h"
#include "seccomp.h"

namespace tsoci {

struct Namespace {
  std::string type;  // user pid network ipc uts mount cgroup time
  std::string path;  // empty: create
};

struct IdMapping {
  uint32_t containerID, hostID, size;
};

struct Mount {
  std::string source, destination, type, data;
  unsigned long flags = 0;
  unsigned long remountFlags = 0;
  unsigned long clearedFlags = 0;  // binds: flags the options cleared (rw, suid, dev, ...)
  std::vector<unsigned long> propagationFlags;
  bool createFile = false;  // createAs == "file"
  std::string replaces;     // a bind standing in for this file system ("sysfs")
  bool tmpcopyup = false;   // tmpfs: copy the covered directory's content in (tmpcopyup.h)
  MountExt ext;             // recursiveAttrs, idmap (mount_ext.cc)
};

struct Device {
  std::string path;
  char type = 'c';
  uint32_t major = 0, minor = 0, fileMode = 0;
  uint32_t uid = 0, gid = 0;
  std::string bindFrom;
};

struct Symlink {
  std::string target, path;
};

struct Rlimit {
  int resource;
  rlim_t soft, hard;
};

struct Capabilities {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

struct TimeOffset {
  std::string clock;
  int64_t secs;
  int64_t nanosecs;
};

struct Process {
  std::vector<std::string> args, env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additionalGids;
  int umask = -1;
  bool terminal = false;
  bool noNewPrivileges = false;
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  std::optional<int> oomScoreAdj;
};

struct Plan {
  int version = 0;
  bool execMode = false;    // mode == "exec"
  bool foreground = false;  // wait == "foreground"
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uidMappings, gidMappings;
  bool setgroupsDeny = false;
  std::vector<TimeOffset> timeOffsets;
  std::optional<std::string> hostname, domainname;
  std::string rootfs;
  bool rootfsReadonly = false;
  unsigned long rootfsPropagation = 0;
  bool noPivot = false;
  std::string hostMountRecord;  // no mount namespace: where stage0 records the mounts present (host_mounts.cc)
  std::vector<Mount> mounts;
  std::vector<Device> devices;
  std::vector<Symlink> symlinks;
  std::vector<std::string> maskedPaths, readonlyPaths;
  std::map<std::string, std::string> sysctl;
  Process process;
  std::string execFifo, consoleSocket;
  bool consoleClearOnlcr = false;  // tsoci relays the pty: no NL -> CR NL (runc's ClearONLCR)
  int preserveFds = 0;
  int execTargetPid = 0;
  bool pauseForHooks = false;
  struct DebugLog {
    bool enabled = false;
    bool json = false;
    std::string file;  // empty: stderr
  } debugLog;  // tsoci --debug (debug_log.cc)
  ContainerHooks containerHooks;  // createContainer/startContainer (hooks.cc)
  std::optional<MemoryPolicy> memoryPolicy;  // mempolicy.cc
  ProcessExtras extras;  // console size, scheduling, affinity, personality, LSM (extras.cc)
  SeccompPlan seccomp;   // compiled filter + notify listener (seccomp.cc)

  bool has_namespace(const std::string& type) const;
  // creating (not joining) a namespace of this type
  bool creates(const std::string& type) const;
};

// Throws Failure{step "plan"} on malformed input.
Plan parse_plan(const std::string& line);

}  // namespace tsoci
