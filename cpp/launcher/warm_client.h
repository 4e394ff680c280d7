// The launcher's side of the warm handoff (see cpp/common/warm_protocol.h and
// src/warm/worker.ts): hand the command to a pool worker when one answers at once.
#pragma once

namespace tsoci {

// Returns only when the command must take the cold path (no pool, a refusal, no answer in
// time, any error before the worker said "go"); once handed over it never returns: it serves
// the worker's requests and exits with the command's status. `record` is the caller-fd
// record ("<pid>:<ranges>") made before anything was opened.
void TryWarm(int argc, char** argv, const char* record);

}  // namespace tsoci
