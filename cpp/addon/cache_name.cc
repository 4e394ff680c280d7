#include "cache_name.h"

#include <cstdint>
#include <cstdio>

namespace tsoci {
namespace {

// 64-bit FNV-1a of the cache key. Only a file name: the cache compares the whole key on a
// hit (src/seccomp/cache.ts). Native because the key is ~100 KB and a cold JS loop over it
// costs ~3 ms of every create.
Napi::Value SeccompCacheName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) return Napi::String::New(env, "");
  auto key = info[0].As<Napi::Buffer<uint8_t>>();
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < key.Length(); i++) h = (h ^ key.Data()[i]) * 0x100000001b3ULL;
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return Napi::String::New(env, hex);
}

}  // namespace

void RegisterCacheName(Napi::Env env, Napi::Object exports) {
  exports.Set("seccompCacheName", Napi::Function::New(env, SeccompCacheName));
}

}  // namespace tsoci
