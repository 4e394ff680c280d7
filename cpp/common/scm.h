#pragma once
// Passing fds over a unix socket (SCM_RIGHTS): the pty master, the seccomp notify fd,
// bind-mount source fds, and the warm pool's request (the caller's stdio). Both sides retry on EINTR and use only async-signal-safe calls.
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <cstring>

namespace tsoci {

constexpr size_t kMaxScmFds = 8;

// One sendmsg of `len` bytes with `count` fds attached (at most kMaxScmFds). Returns
// sendmsg's result (errno set on -1).
inline ssize_t send_with_fds(int sock, const void* data, size_t len, const int* fds, size_t count) {
  struct iovec iov = {const_cast<void*>(data), len};
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxScmFds)];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (count > kMaxScmFds) {
    errno = EINVAL;
    return -1;
  }
  if (count > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
  }
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

// The same with, when fd >= 0, that one fd attached.
inline ssize_t send_with_fd(int sock, const void* data, size_t len, int fd) {
  return send_with_fds(sock, data, len, &fd, fd >= 0 ? 1 : 0);
}

// One recvmsg into `data` (up to `len` bytes, `flags` added to MSG_CMSG_CLOEXEC). The fds
// received (close-on-exec) go to fds[0..max-1], their number to *count; any beyond `max`
// are closed. Returns recvmsg's result.
inline ssize_t recv_with_fds(int sock, void* data, size_t len, int* fds, size_t max, size_t* count, int flags = 0) {
  *count = 0;
  struct iovec iov = {data, len};
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxScmFds)];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
  while (n < 0 && errno == EINTR);
  if (n < 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < got; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (*count < max) fds[(*count)++] = fd;
      else close(fd);
    }
  }
  return n;
}

// One recvmsg; *fd gets the first fd received or -1 (one is expected; others are closed).
inline ssize_t recv_with_fd(int sock, void* data, size_t len, int* fd) {
  size_t count;
  ssize_t n = recv_with_fds(sock, data, len, fd, 1, &count);
  if (count == 0) *fd = -1;
  return n;
}

}  // namespace tsoci
