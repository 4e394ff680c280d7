// CVE-2024-21626: a process.cwd such as "/proc/self/fd/<n>" resolves through one of the
// init's own fds (host /proc, the exec fifo, …) to a directory outside the container's
// root, and the container process would start there with the host's file system at "..".
#pragma once
#include <string>

namespace tsoci {

// After chdir(cwd): fails (step "chdir") unless the working directory is reachable from
// the process's root, i.e. lies inside the container.
void ensure_cwd_inside_root(const std::string& cwd);

}  // namespace tsoci
