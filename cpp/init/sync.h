// The sync socket: newline-delimited JSON between the runtime and tsoci-init.
// Only one process writes at a time (see main.cc for who owns it when).
#pragma once
#include <sys/types.h>

#include <string>

#include "errors.h"
#include "fd.h"

namespace tsoci {

std::string json_escape(const std::string& s);

class Sync {
 public:
  explicit Sync(int fd) : fd_(fd) {}
  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

  // One line without the '\n'; false on EOF or error. Bytes after the newline stay
  // buffered (a fork copies them along with the object).
  bool read_line(std::string& line);
  // Appends '\n'. false if the runtime is gone.
  bool send(const std::string& line);

  bool send_type(const char* type);
  bool send_pid(pid_t pid);
  bool send_error(const Failure& f);
  // Blocks for {"type":"<type>"}; false on EOF or anything else.
  bool expect(const char* type);

 private:
  Fd fd_;
  std::string buf_;
};

}  // namespace tsoci
