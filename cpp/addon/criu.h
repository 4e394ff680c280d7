#pragma once
#include <napi.h>

namespace tsoci {
// What tsoci needs on the host to drive CRIU: the socket it talks to `criu swrk` over (SOCK_SEQPACKET: one protobuf message per
// packet, fds by SCM_RIGHTS), sending a received pty master on to a console socket, and
// the bind mount CRIU restores into.
void RegisterCriu(Napi::Env env, Napi::Object exports);
}
