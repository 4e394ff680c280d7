#pragma once
#include <napi.h>

namespace tsoci {
// A warm pool worker (src/warm/worker.ts): the handshake with a launcher (warm_accept.cc) and
// the requests it serves for the worker's launches (warm_host.cc).
void RegisterWarmAccept(Napi::Env env, Napi::Object exports);
void RegisterWarmHost(Napi::Env env, Napi::Object exports);
// the zygote that forks the workers (warm_zygote.cc)
void RegisterWarmZygote(Napi::Env env, Napi::Object exports);
}
