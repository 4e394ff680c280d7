// The "tmpcopyup" tmpfs option (a runc extension): the new tmpfs starts with a copy of
// what the directory it covers held, with the same modes, owners and times.
#pragma once
#include <string>

namespace tsoci {

// Copies the tree under `fromDir` (an O_RDONLY|O_DIRECTORY fd of the covered directory,
// opened before the tmpfs was mounted over it) into `toDir` (the new tmpfs' root).
// Regular files, directories, symlinks, fifos, sockets and device nodes; hard links are
// copied as separate files. `where` names the destination in errors.
void copy_up(int fromDir, int toDir, const std::string& where);

}  // namespace tsoci
