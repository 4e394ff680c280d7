// The warm handoff's wire format, shared by the launcher (cpp/launcher, bin/tsoci) and the
// worker's addon primitives (cpp/addon/warm*.cc). One unix SOCK_STREAM connection to the
// pool's socket, same host, same build on both ends (the build id is checked first), so
// structs go as they are in host byte order.
//
// 1. launcher → worker: RequestHeader (with fds 0, 1, 2 attached by SCM_RIGHTS), then
//    `length` bytes of NUL-terminated strings: build id, cwd, umask (octal), the caller-fd
//    record ("<launcher pid>:<ranges>", see src/fds/caller-fds.ts), argc (the arguments after
//    argv[0]), the arguments, then every environment entry.
// 2. worker → launcher: Accept ('A' and the worker's pid, with a pidfd of the worker attached:
//    the launcher's SO_PEERCRED names the process that listens, the supervisor), or 'R'
//    followed by a reason line (refused: go cold).
// 3. launcher → worker: 'G' (go): from here the launcher is committed. A launcher that gave
//    up waiting for 'A' closes instead; the worker then sees EOF and runs nothing.
// 4. worker → launcher: Op messages (with at most one fd attached); each but kExit gets
//    one Reply (kWait: on the fd attached to it, if any, else on the connection).
#pragma once
#include <stdint.h>

namespace tsoci {
namespace warm {

constexpr char kMagic[8] = {'T', 'S', 'O', 'C', 'I', 'W', '1', '\0'};
constexpr uint32_t kMaxRequest = 4u << 20;  // argv + env; ARG_MAX-sized environments fit
constexpr uint32_t kMaxOpPayload = 1u << 20;

struct RequestHeader {
  char magic[8];
  uint32_t length;  // bytes of strings that follow
  uint32_t fds;     // fds attached (3: the caller's 0, 1, 2)
};

constexpr char kAccept = 'A';
struct Accept {
  char tag;  // kAccept
  char pad[3];
  int32_t pid;
};
constexpr char kRefuse = 'R';
constexpr char kGo = 'G';

enum OpCode : uint32_t {
  kSpawnInit = 1,     // arg: preserveFds; payload: path\0argv0\0env...\0; fd: the init's sync socket end
  kSubreaper = 2,     // PR_SET_CHILD_SUBREAPER on the launcher
  kWait = 3,          // arg: pid; reply when it exits (value: wait status)
  kReap = 4,          // arg: pid (killed already): waitpid it
  kReapOrphans = 5,   // kill and reap the launcher's tsoci-init children
  kExit = 6,          // arg: exit status of the command; no reply
};

struct Op {
  uint32_t code;
  int32_t arg;
  uint32_t length;  // payload bytes that follow
};

// Where a failed request failed (the worker names it in its error line).
enum Step : int32_t {
  kStepNone = 0,
  kStepMessage = 1,    // reading the request
  kStepDupSync = 2,    // moving the sync socket above the init's fds
  kStepSpawnSetup = 3,  // posix_spawn attributes / file actions
  kStepSpawn = 4,      // posix_spawn (exec of tsoci-init included)
  kStepWaitpid = 5,
  kStepPidfd = 6,
  kStepPrctl = 7,
  kStepTooMany = 8,    // too many waits at once
};

struct Reply {
  int32_t err;    // 0 or an errno
  int32_t value;  // kSpawnInit: pid; kWait: wait status
  int32_t step;   // a Step when err != 0
};

}  // namespace warm
}  // namespace tsoci
