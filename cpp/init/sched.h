// Scheduling and execution domain of the container process: sched_setattr(2),
// ioprio_set(2), CPU affinity, personality(2).
#pragma once
#include <string>

#include "plan.h"

namespace tsoci {

// execCPUAffinity.initial, applied by stage0 as soon as the plan is read so every
// stage of the init runs on those CPUs.
void apply_initial_affinity(const Plan& plan);

// personality, scheduler, I/O priority: stage2, while still privileged (before the
// credentials are switched), before "ready".
void apply_scheduling(const Plan& plan);

// Just before execve: execCPUAffinity.final; without any execCPUAffinity the affinity
// is reset to every CPU (clamped by the cgroup's cpuset) so the container does not
// inherit the runtime's, like runc. Only the final list is an error when it fails.
void apply_final_affinity(const Plan& plan);

// "0-3,7" → CPU numbers; false (with `why`) on malformed input.
bool parse_cpu_list(const std::string& list, std::string& why, std::vector<int>& cpus);

}  // namespace tsoci
