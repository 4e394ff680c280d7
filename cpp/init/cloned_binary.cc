#include "cloned_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace tsoci {

namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

[[noreturn]] void die(const char* what) {
  fprintf(stderr, "tsoci-init: cannot run from a sealed copy (CVE-2019-5736): %s: %s\n", what, strerror(errno));
  _exit(1);
}

bool is_sealed_copy(int exe) {
  int seals = fcntl(exe, F_GET_SEALS);
  return seals >= 0 && (seals & kSeals) == kSeals;
}

int make_memfd() {
  // MFD_EXEC: with vm.memfd_noexec=1 a memfd is otherwise created non-executable
  int fd = static_cast<int>(syscall(SYS_memfd_create, "tsoci-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  if (fd < 0 && errno == EINVAL)  // kernels before 6.3 do not know MFD_EXEC
    fd = static_cast<int>(syscall(SYS_memfd_create, "tsoci-init", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  return fd;
}

}  // namespace

void ensure_cloned_binary(char** argv, char** envp) {
  int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) die("open /proc/self/exe");
  if (is_sealed_copy(exe)) {
    close(exe);
    prctl(PR_SET_NAME, "tsoci-init", 0, 0, 0);  // comm from execveat is the fd number
    return;
  }
  struct stat st;
  if (fstat(exe, &st) < 0) die("stat /proc/self/exe");
  int mem = make_memfd();
  if (mem < 0) die("memfd_create");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(mem, exe, &off, static_cast<size_t>(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("copy /proc/self/exe");
  }
  close(exe);
  if (fcntl(mem, F_ADD_SEALS, kSeals) < 0) die("seal the copy");
  syscall(SYS_execveat, mem, "", argv, envp, AT_EMPTY_PATH);
  die("execveat the sealed copy");
}

}  // namespace tsoci
