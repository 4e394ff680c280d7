#pragma once
// Passing one fd over a unix socket (SCM_RIGHTS): the pty master, the seccomp notify fd and
// bind-mount source fds. Both sides retry on EINTR and use only async-signal-safe calls.
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>
#include <cstring>

namespace tsoci {

// One sendmsg of `len` bytes with, when fd >= 0, that fd attached. Returns sendmsg's
// result (errno set on -1).
inline ssize_t send_with_fd(int sock, const void* data, size_t len, int fd) {
  struct iovec iov = {const_cast<void*>(data), len};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

// One recvmsg into `data` (up to `len` bytes). *fd gets the first fd received (close-on-exec)
// or -1; any further fds are closed (one is expected). Returns recvmsg's result.
inline ssize_t recv_with_fd(int sock, void* data, size_t len, int* fd) {
  *fd = -1;
  struct iovec iov = {data, len};
  union {
    char buf[CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int got;
      memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
      if (*fd < 0) *fd = got;
      else close(got);
    }
  }
  return n;
}

}  // namespace tsoci
