#pragma once
#include <napi.h>

namespace tsoci {
// spawnInit / waitChild / waitChildSync: start tsoci-init without Node's child_process
// (whose fork copies the whole Node process and whose module costs ~6 ms to load).
void RegisterSpawnInit(Napi::Env env, Napi::Object exports);
// {errno, step}: how the spawn/wait functions (and the warm worker's) report a failure
Napi::Object Failure(Napi::Env env, int err, const char* step);
// {code, signal} of a wait status
Napi::Object ExitObject(Napi::Env env, int status);
}
