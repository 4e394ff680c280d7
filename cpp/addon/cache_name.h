#pragma once
#include <napi.h>

namespace tsoci {
// seccompCacheName(key: Buffer) -> 16 hex digits: the seccomp filter cache's file name.
void RegisterCacheName(Napi::Env env, Napi::Object exports);
}
