#pragma once
#include <napi.h>

namespace tsoci {
// compileSeccomp(description) -> {bpf: Buffer} | {error, errno}; seccompInfo() -> libseccomp facts.
void RegisterSeccomp(Napi::Env env, Napi::Object exports);
}
