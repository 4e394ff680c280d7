// bin/tsoci: the native launcher. It records which fds above 2 its caller passed (before
// Node opens its own), then execs the Node it was built with on bin/loader.js (the V8 code
// cache loader of dist/tsoci.js), falling back to `node` on PATH. It runs before every
// command, so it does only that: a few syscalls, no C++ runtime (its static initialisers
// alone cost more than the rest), buffers on the stack or from malloc.
//
// When a warm pool runs (tsoci warm start), the command is handed to one of its workers
// instead (warm_client.cc), unless that is not possible at once: then the exec as above.
//
// The record, TSOCI_CALLER_FDS=<pid>:<fd list> (e.g. "812:3,5-7"), names this pid, which the
// exec keeps: the bundle trusts it only when the pid is its own, and removes it at start-up.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "warm_client.h"

#ifndef TSOCI_NODE
#define TSOCI_NODE "/usr/bin/node"
#endif
// where the build left bin/loader.js: used when this executable is a copy placed elsewhere
#ifndef TSOCI_LOADER
#define TSOCI_LOADER "/usr/lib/node_modules/tsoci/bin/loader.js"
#endif

extern char** environ;

namespace {

constexpr char kRecordName[] = "TSOCI_CALLER_FDS=";
// Node raises its soft RLIMIT_NOFILE to the hard limit at start-up, and what tsoci starts
// (hooks, tsoci-init and so the container) would inherit that. Current runc (Go >= 1.21)
// gives its children the caller's: TSOCI_CALLER_NOFILE=<pid>:<soft> lets the bundle restore it.
constexpr char kNofileName[] = "TSOCI_CALLER_NOFILE=";
// Node loads the certificates NODE_EXTRA_CA_CERTS names at start-up, whether or not TLS is
// ever used: with Debian's bundle that is ~50 ms of a 70 ms start (tsoci makes no TLS
// connection). Node gets it as TSOCI_CALLER_NODE_EXTRA_CA_CERTS=<pid>:<value>, and the bundle
// puts it back into its environment at once, so what tsoci starts sees the caller's.
constexpr char kCaName[] = "NODE_EXTRA_CA_CERTS=";
constexpr char kCaRecordName[] = "TSOCI_CALLER_NODE_EXTRA_CA_CERTS=";

// A growable C string (the record can be long when the caller passes many scattered fds).
struct Text {
  char* s = nullptr;
  size_t len = 0, cap = 0;
  bool Append(const char* p, size_t n) {
    if (len + n + 1 > cap) {
      size_t want = cap ? cap * 2 : 256;
      while (want < len + n + 1) want *= 2;
      char* grown = static_cast<char*>(realloc(s, want));
      if (!grown) return false;
      s = grown;
      cap = want;
    }
    memcpy(s + len, p, n);
    len += n;
    s[len] = '\0';
    return true;
  }
  bool Append(const char* p) { return Append(p, strlen(p)); }
  bool AppendInt(long v) {
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%ld", v);
    return Append(buf, n);
  }
};

// Appends the caller's fds above 2 as ascending ranges ("3,5-7"), read from /proc/self/fd
// (getdents of a small directory, in fd order), leaving out the directory's own fd.
bool AppendCallerFds(Text& out) {
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  alignas(8) char buf[8192];
  int first = -1, last = -1;
  bool ok = true, any = false;
  auto flush = [&]() {
    if (first < 0) return;
    ok = ok && (!any || out.Append(",")) && out.AppendInt(first) && (last == first || (out.Append("-") && out.AppendInt(last)));
    any = true;
  };
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) {
      ok = ok && n == 0;
      break;
    }
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
      int fd = atoi(d->d_name);
      if (fd <= 2 || fd == dir) continue;
      if (first >= 0 && fd == last + 1) {
        last = fd;
        continue;
      }
      if (first >= 0 && fd <= last) {  // not ascending: procfs always lists in order, but be exact
        ok = false;
        break;
      }
      flush();
      first = last = fd;
    }
  }
  flush();
  close(dir);
  if (!ok && errno == 0) errno = EINVAL;
  return ok;
}

[[noreturn]] void Fail(const char* what, const char* why) {
  dprintf(2, "tsoci: %s: %s\n", what, why);
  _exit(1);
}

// "NAME=<pid>:": the start of every record this hands Node (the exec keeps the pid, so the
// bundle trusts a record only when it names its own)
bool StartRecord(Text& t, const char* name) { return t.Append(name) && t.AppendInt(getpid()) && t.Append(":"); }

bool StartsWith(const char* s, const char* prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

}  // namespace

int main(int argc, char** argv) {
  Text record;
  if (!StartRecord(record, kRecordName) || !AppendCallerFds(record))
    Fail("list the caller's fds (/proc/self/fd)", strerror(errno));
  tsoci::TryWarm(argc, argv, record.s + sizeof kRecordName - 1);

  // bin/loader.js next to this executable (symlinks resolved: an npm bin link points into
  // the package), else where the build left it (this executable copied elsewhere)
  char loader[4096 + 16];
  ssize_t n = readlink("/proc/self/exe", loader, 4096);
  char* slash = n > 0 ? static_cast<char*>(memrchr(loader, '/', n)) : nullptr;
  if (slash) strcpy(slash + 1, "loader.js");
  if (!slash || access(loader, R_OK) != 0) {
    if (access(TSOCI_LOADER, R_OK) != 0) Fail("find bin/loader.js next to the launcher or at " TSOCI_LOADER, strerror(errno));
    strcpy(loader, TSOCI_LOADER);
  }

  size_t envCount = 0;
  for (char** e = environ; *e; e++) envCount++;
  Text nofile;
  struct rlimit lim;
  bool raised = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max;
  if (raised && !(StartRecord(nofile, kNofileName) && nofile.AppendInt(static_cast<long>(lim.rlim_cur))))
    Fail("start", strerror(ENOMEM));
  Text ca;
  char** env = static_cast<char**>(malloc((envCount + 4) * sizeof(char*)));
  char** args = static_cast<char**>(malloc((argc + 3) * sizeof(char*)));
  if (!env || !args) Fail("start", strerror(ENOMEM));
  size_t k = 0;
  for (char** e = environ; *e; e++) {
    if (StartsWith(*e, kCaName)) {
      // the first, as getenv reads it; a repeated one is dropped
      if (!ca.s && !(StartRecord(ca, kCaRecordName) && ca.Append(*e + sizeof kCaName - 1))) Fail("start", strerror(ENOMEM));
    } else if (!StartsWith(*e, kRecordName) && !StartsWith(*e, kNofileName) && !StartsWith(*e, kCaRecordName)) {
      env[k++] = *e;  // a record of the caller's own (stale, or forged) is dropped
    }
  }
  env[k++] = record.s;
  if (raised) env[k++] = nofile.s;
  if (ca.s) env[k++] = ca.s;
  env[k] = nullptr;

  args[0] = const_cast<char*>(TSOCI_NODE);
  args[1] = loader;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  args[argc + 1] = nullptr;

  execve(TSOCI_NODE, args, env);
  int builtFor = errno;
  // the Node it was built with is gone (upgraded, moved): the one on PATH
  environ = env;
  args[0] = const_cast<char*>("node");
  execvp("node", args);
  char why[512];
  snprintf(why, sizeof why, "%s: %s; node on PATH: %s", TSOCI_NODE, strerror(builtFor), strerror(errno));
  dprintf(2, "tsoci: cannot run node: %s\n", why);
  return 127;
}
