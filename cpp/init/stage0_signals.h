// Foreground stage0 (run / exec without --detach) shares the caller's process group: a
// Ctrl-C, a hangup or a `kill -- -<pgid>` reaches it together with the container process
// and the runtime (which forwards it). stage0 must survive them to report the container's
// exit status.
#pragma once

namespace tsoci {

// Ignores the terminating signals a process group receives. Called in stage0 after it
// forked stage1, so nothing of the container inherits it (stage2 also resets every
// disposition before execve).
void stage0_ignore_group_signals();

}  // namespace tsoci
