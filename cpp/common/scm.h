#pragma once
// One sendmsg of `len` bytes with, when fd >= 0, that fd attached (SCM_RIGHTS).
// Retries on EINTR; returns sendmsg's result (errno set on -1). Used for the pty master,
// the seccomp notify fd and bind-mount source fds.
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <cstring>

namespace tsoci {

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

}  // namespace tsoci
