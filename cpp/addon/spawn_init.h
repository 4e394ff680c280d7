#pragma once
#include <napi.h>

namespace tsoci {
// spawnInit / waitChild / waitChildSync: start tsoci-init without Node's child_process
// (whose fork copies the whole Node process and whose module costs ~6 ms to load).
void RegisterSpawnInit(Napi::Env env, Napi::Object exports);
}
