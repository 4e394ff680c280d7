#pragma once
#include <napi.h>

namespace tsoci {
// Console socket helpers: listen on a unix socket, receive the pty master by
// SCM_RIGHTS, set a terminal's window size.
void RegisterConsole(Napi::Env env, Napi::Object exports);
}
