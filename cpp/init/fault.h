// Test-only fault injection (see README, Tests): TSOCI_FAULT=<step> makes tsoci-init
// fail at the named step with "fault injected at <step>"; TSOCI_FAULT=sleep:<step> makes
// it print "tsoci: fault: sleeping at <step>" on stderr and sleep (up to 60 s) there, so a
// test can kill the runtime mid-operation. Unset, a fault point is one pointer test.
#pragma once
#include <string>

namespace tsoci {

extern const char* g_fault;  // TSOCI_FAULT, read once by fault_init(); null when unset

void fault_init();
void fault_hit(const std::string& step);

}  // namespace tsoci

#define TSOCI_FAULT_POINT(step)                        \
  do {                                                 \
    if (::tsoci::g_fault) ::tsoci::fault_hit(step);    \
  } while (0)
