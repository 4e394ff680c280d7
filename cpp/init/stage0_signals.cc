#include "stage0_signals.h"

#include <signal.h>

#include <cstring>

namespace tsoci {

void stage0_ignore_group_signals() {
  static const int kSignals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE,
                                 SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO, SIGPWR};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  for (int s : kSignals) sigaction(s, &sa, nullptr);
}

}  // namespace tsoci
