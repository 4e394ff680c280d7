// The launcher's side once a worker has the command: relay signals to it and do what only the
// caller's process may do (spawn tsoci-init as its child, be the subreaper, wait and reap).
#pragma once
#include <signal.h>
#include <sys/types.h>

namespace tsoci {

// The signals relayed to the worker: every catchable one but SIGCHLD and the synchronous
// faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS), which are this process's own.
void RelayedSignals(sigset_t* set);

// Serves the worker (`workerFd` a pidfd of it) on `conn` (the relayed signals already
// blocked) and exits with the command's status, or by the fatal signal it relayed when the
// worker died without one.
[[noreturn]] void ServeWorker(int conn, int workerFd, pid_t worker, const char* record, const sigset_t* relayed);

}  // namespace tsoci
