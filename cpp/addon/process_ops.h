#pragma once
#include <napi.h>

namespace tsoci {
// flock, pidfd-based waiting and signalling, child subreaper.
void RegisterProcessOps(Napi::Env env, Napi::Object exports);
}
