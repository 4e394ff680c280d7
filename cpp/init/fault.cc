#include "fault.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "errors.h"

namespace tsoci {

const char* g_fault = nullptr;

void fault_init() {
  const char* f = getenv("TSOCI_FAULT");
  g_fault = f && *f ? f : nullptr;
}

void fault_hit(const std::string& step) {
  if (step == g_fault) fail_msg("fault", step, EIO, "fault injected at " + step);
  if (strncmp(g_fault, "sleep:", 6) == 0 && step == g_fault + 6) {
    std::string msg = "tsoci: fault: sleeping at " + step + "\n";
    (void)!write(2, msg.data(), msg.size());
    struct timespec ts = {60, 0};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace tsoci
