// The container's terminal (process.terminal): a pty allocated inside the container
// (its own devpts instance), the master sent to the console socket, the slave made
// the process's stdio and controlling terminal.
#pragma once
#include "fd.h"
#include "plan.h"

namespace tsoci {

// Connects to the console socket at `path` (stage0, host namespaces). Failure:
// "connect console socket <path>: connection refused (ECONNREFUSED)".
Fd connect_console_socket(const std::string& path);

// stage2, after pivot_root (create mode; mountConsole: also bind the slave over
// /dev/console) or after setns (exec mode). In order: open /dev/pts/ptmx (checked to
// be a real devpts ptmx), unlock, open the peer (TIOCGPTPEER), TIOCSWINSZ from
// consoleSize, send the master with SCM_RIGHTS (message "/dev/ptmx", like runc) and
// close `console`, dup the slave onto 0-2, setsid + TIOCSCTTY, and chown the slave to
// the process uid (gid left to devpts' gid=, like runc).
void setup_terminal(const Plan& plan, Fd& console, int procfd, bool mountConsole);

}  // namespace tsoci
