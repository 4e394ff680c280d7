// CVE-2019-5736: tsoci-init never runs from the host's file. At start it re-executes
// itself from a sealed memfd copy, so /proc/self/exe or /proc/<pid>/exe of any process
// of ours (or of a container process that exec'd "#!/proc/self/exe") names an anonymous,
// write-sealed file, never build/Release/tsoci-init.
#pragma once

namespace tsoci {

// Returns only when already running from a sealed copy; otherwise execs the copy (same
// argv, environment and fds) or prints an error and exits 1.
void ensure_cloned_binary(char** argv, char** envp);

}  // namespace tsoci
