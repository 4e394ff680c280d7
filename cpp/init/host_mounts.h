// A container without a mount namespace of its own shares the runtime's: its mounts are
// made beneath the rootfs in the host's mount table (like runc and crun), then the process
// is chroot()ed there (no pivot_root). Nothing else of the host's mount table changes: not
// the propagation of "/" or of the rootfs' parent, and the rootfs gets no self-bind.
//
// Every mount made there is recorded as it is made ("<mount id> <mount point>" lines in
// plan.hostMountRecord, a file in the container's state directory), so that `delete` and
// a failed create unmount exactly those (src/host/host-mounts.ts).
#pragma once
#include <string>

#include "fd.h"
#include "plan.h"

namespace tsoci {

// stage0, host namespaces, before anything forks: creates the record (header line) and
// keeps it open for note_host_mount in stage2. Refuses a rootfs that resolves to the host's
// "/" when the plan would mount or create anything there. Returns the record's fd.
Fd open_host_mount_record(const Plan& plan, int procfd);

// Where note_host_mount writes (the fd open_host_mount_record returned, maybe moved).
void use_host_mount_record(int fd);

// A record is in use: the container has no mount namespace of its own.
bool host_mount_recording();

// Records the mount whose root `fd` (O_PATH) is: call right after each mount(2) made in
// the host's mount namespace. No-op when no record is in use (own mount namespace).
void note_host_mount(int fd, const std::string& where);

}  // namespace tsoci
