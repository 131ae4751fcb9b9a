// What the C harnesses beside this file share: timing a call by the best of three rounds, in
// process CPU time (what a shared machine's load disturbs least at one thread) and wall time,
// and stopping on a failed call. Header-only, so each harness stays one g++ command.
#pragma once

#include "unclip.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace harness {

inline double seconds(clockid_t clock) {
    timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Best of three rounds of `reps` calls after one warm-up call (it prepares a weight, touches the
// output): process CPU seconds and wall seconds per call.
template <class Call>
void best_of_three(int reps, Call &&call, double &cpu, double &wall) {
    call();
    cpu = wall = 1e30;
    for (int round = 0; round < 3; ++round) {
        const double c0 = seconds(CLOCK_PROCESS_CPUTIME_ID), w0 = seconds(CLOCK_MONOTONIC);
        for (int i = 0; i < reps; ++i) call();
        cpu = std::min(cpu, (seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) / reps);
        wall = std::min(wall, (seconds(CLOCK_MONOTONIC) - w0) / reps);
    }
}

inline void check(uc_context *ctx, uc_status s) {
    if (s != UC_OK) {
        std::fprintf(stderr, "error: %s\n", uc_context_last_error(ctx));
        std::exit(1);
    }
}

}  // namespace harness
