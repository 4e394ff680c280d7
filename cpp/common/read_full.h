#pragma once
// Reading an exact number of bytes from a pipe or socket: tsoci-init's stages, the launcher
// and the warm worker all speak fixed-size messages. Async-signal-safe (read only).
#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

namespace tsoci {

// Reads exactly `len` bytes, retrying on EINTR; false on error or EOF (errno ECONNRESET).
inline bool read_full(int fd, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ECONNRESET;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace tsoci
