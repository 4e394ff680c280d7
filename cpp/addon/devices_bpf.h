#pragma once
#include <napi.h>

namespace tsoci {
// cgroup v2 device rules as an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE):
//   deviceFilterProgram(rules) -> {insns: Buffer} | {error, errno, step}
//   deviceFilterApply(dir, rules) -> {progId, replaced: [ids]} | {error, errno, step, path}
//   deviceFilterQuery(dir) -> {ids: [ids], attachFlags} | {error, errno, step, path}
// rules: [{allow, type: "a"|"b"|"c", major, minor (-1 = any), access: subset of "rwm"}].
void RegisterDevicesBpf(Napi::Env env, Napi::Object exports);
}
