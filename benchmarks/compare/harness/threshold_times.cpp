// Issue 19: "no small op slower on 2 threads than on 1". The memory-bound ops that fork their
// OpenMP team by element count (cpu.h's kParallelElements and the thresholds beside it), each at
// 1 to 32 times 128 K elements, timed straight through the C ABI; run it at OMP_NUM_THREADS=1
// and =2 with the passive wait policy the Java bindings set, and compare the two columns of times
// (best of three rounds, wall time: at two threads the process CPU time also counts the team's
// waiting).
//
//   g++ -O2 -I native/include benchmarks/compare/harness/threshold_times.cpp -o /tmp/threshold_times
//       -L bindings/target/classes/native/linux-x86_64 -lunclip_cpu      (one command)
//   for t in 1 2; do OMP_WAIT_POLICY=passive OMP_NUM_THREADS=$t
//     LD_LIBRARY_PATH=bindings/target/classes/native/linux-x86_64 /tmp/threshold_times; done   (one line)
#include "timing.h"

#include <cstdio>
#include <functional>
#include <vector>

using harness::best_of_three;
using harness::check;

int main() {
    uc_context *ctx;
    if (uc_context_create(0, &ctx) != UC_OK) return 1;
    const long base = 1 << 17;  // cpu.h's kParallelElements
    for (long scale : {1, 2, 4, 8, 16, 32}) {
        const long e = base * scale;
        std::vector<float> a((size_t)e, 0.25f), b((size_t)e, 0.5f), out((size_t)(4 * e)), g(1024, 1.0f), z(1024, 0.0f);
        const std::pair<const char *, std::function<uc_status()>> ops[] = {
            {"add", [&] { return uc_add(ctx, UC_F32, a.data(), b.data(), out.data(), e, e); }},
            {"activate silu", [&] { return uc_activate(ctx, UC_ACT_SILU, UC_F32, a.data(), out.data(), e); }},
            {"activate gelu", [&] { return uc_activate(ctx, UC_ACT_GELU_ERF, UC_F32, a.data(), out.data(), e); }},
            {"copy_2d", [&] { return uc_copy_2d(ctx, UC_F32, a.data(), 1024, out.data(), 1024, e / 1024, 1024); }},
            {"layer_norm c=1024", [&] { return uc_layer_norm(ctx, UC_F32, a.data(), g.data(), z.data(), out.data(), e / 1024, 1024, 1e-5f); }},
            {"softmax n=1024", [&] { return uc_softmax(ctx, UC_F32, a.data(), out.data(), e / 1024, 1024); }},
            {"upsample c=1024", [&] { return uc_upsample_nearest2x(ctx, UC_F32, a.data(), out.data(), 1, 8, e / 1024 / 8, 1024); }},
            {"avg_pool c=1024", [&] { return uc_avg_pool2x2(ctx, UC_F32, a.data(), out.data(), 1, 8, e / 1024 / 8, 1024); }},
            {"group_norm c=1024", [&] { return uc_group_norm(ctx, UC_F32, a.data(), g.data(), z.data(), nullptr, out.data(), 1, e / 1024, 1024, 32, 1e-5f, UC_ACT_SILU); }},
        };
        for (const auto &[name, call] : ops) {
            double cpu, wall;
            best_of_three(std::max(1, (int)(2e8 / e)), [&] { check(ctx, call()); }, cpu, wall);
            std::printf("%-18s %4ld K elements: %.1f us (wall)\n", name, e >> 10, wall * 1e6);
        }
    }
    uc_context_destroy(ctx);
    return 0;
}
