// tsoci.node: only what Node cannot do itself (see DESIGN.md). Every function returns
// plain values or {errno} — no C++ exception crosses the N-API boundary.
#include <napi.h>

#include "cache_name.h"
#include "console.h"
#include "criu.h"
#include "devices_bpf.h"
#include "process_ops.h"
#include "seccomp.h"
#include "spawn_init.h"
#include "warm.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tsoci::RegisterProcessOps(env, exports);
  tsoci::RegisterConsole(env, exports);
  tsoci::RegisterSeccomp(env, exports);
  tsoci::RegisterDevicesBpf(env, exports);
  tsoci::RegisterSpawnInit(env, exports);
  tsoci::RegisterCacheName(env, exports);
  tsoci::RegisterCriu(env, exports);
  tsoci::RegisterWarmAccept(env, exports);
  tsoci::RegisterWarmHost(env, exports);
  tsoci::RegisterWarmZygote(env, exports);
  return exports;
}

NODE_API_MODULE(tsoci, Init)
