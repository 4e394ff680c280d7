// Mount extensions (src/plan/mount-ext.ts): id-mapped bind mounts and recursive mount
// attributes.
//
// Id-mapped mounts need CAP_SYS_ADMIN over the source file system's user namespace (the
// host's), which stage2 lacks inside a container user namespace. So stage0, still in the
// host's namespaces, prepares them before it forks: open_tree(OPEN_TREE_CLONE) of the
// source, a helper user namespace with the mount's maps (a child cloned with CLONE_NEWUSER,
// maps written by us, its ns/user opened, the child reaped), mount_setattr(MOUNT_ATTR_IDMAP).
// stage2 inherits the detached mounts and attaches each with move_mount at its turn.
// A source inside the rootfs (mount_sources.h) is cloned by stage2 itself at its turn,
// with the helper namespace stage0 made: this works without a container user namespace
// (inside one, the kernel refuses MOUNT_ATTR_IDMAP with EPERM, reported as such).
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace tsoci {

struct Plan;
struct Mount;

struct MountIdmapMap {
  uint32_t containerID, hostID, size;
};

struct MountExt {
  bool idmap = false;
  bool idmapRecursive = false;
  std::vector<MountIdmapMap> uidMappings, gidMappings;
  std::string idmapUserns;  // a joined user namespace (path) used as the mapping itself
  bool hasRecursiveAttrs = false;
  uint64_t attrSet = 0, attrClear = 0;
};

// The "recursiveAttrs" and "idmap" members of one planned mount.
void parse_mount_ext(const nlohmann::json& m, MountExt& out);

// stage0: one detached id-mapped tree per id-mapped mount (kept open for stage2), or
// only its user namespace for a source inside the rootfs.
void prepare_idmapped_mounts(const Plan& plan, int procfd);

// stage2: attaches the prepared (or now cloned) tree of `m` on the directory or file open
// (O_PATH) at dstFd.
void attach_idmapped_mount(const Mount& m, int dstFd, const std::string& where);

// mount_setattr(AT_RECURSIVE) on the mount at `fd` (O_PATH of its root); no-op without attrs.
void apply_recursive_attrs(const Mount& m, int fd, const std::string& where);

}  // namespace tsoci
