// GB/s of uc_group_norm + SiLU (32 groups, the ResBlock's call) at Karlo's shapes, straight
// through the C ABI, for comparing two builds of libunclip_cpu side by side (the same binary run
// with LD_LIBRARY_PATH pointing at each, alternating). Bytes = one read + one write of x, as
// cpu.sh counts them; times are the best of three rounds, process CPU time and wall time.
//
//   g++ -O2 -I native/include benchmarks/compare/harness/group_norm_times.cpp -o /tmp/group_norm_times
//       -L bindings/target/classes/native/linux-x86_64 -lunclip_cpu      (one command)
//   OMP_NUM_THREADS=1 LD_LIBRARY_PATH=bindings/target/classes/native/linux-x86_64 /tmp/group_norm_times
#include "timing.h"

#include <algorithm>
#include <cstdio>
#include <vector>

using harness::best_of_three;
using harness::check;

int main() {
    uc_context *ctx;
    if (uc_context_create(0, &ctx) != UC_OK) return 1;
    // N, pixels, C: Karlo's decoder (batch 2) and super-res (batch 1), small to large.
    const long shapes[][3] = {{2, 64, 1280}, {2, 64, 2560}, {2, 256, 2240}, {2, 1024, 640}, {1, 1024, 2560},
                              {1, 4096, 960}, {1, 4096, 1600}, {1, 4096, 2240}, {1, 16384, 640}, {1, 16384, 1600},
                              {1, 65536, 320}, {1, 65536, 960}};
    for (const auto &s : shapes) {
        const long n = s[0], hw = s[1], c = s[2];
        std::vector<float> x((size_t)(n * hw * c)), out(x.size()), gamma(c, 1.1f), beta(c, 0.1f);
        for (size_t i = 0; i < x.size(); ++i) x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
        const double bytes = 2.0 * 4 * (double)x.size();
        double cpu, wall;
        best_of_three(std::max(1, (int)(4e9 / bytes)), [&] {
            check(ctx, uc_group_norm(ctx, UC_F32, x.data(), gamma.data(), beta.data(), nullptr, out.data(), n, hw, c, 32,
                                     1e-5f, UC_ACT_SILU));
        }, cpu, wall);
        std::printf("group_norm %ldx%ldx%ld: %.3f ms, %.1f GB/s (CPU time); %.1f GB/s (wall)\n", n, c, hw, cpu * 1e3,
                    bytes / cpu / 1e9, bytes / wall / 1e9);
    }
    uc_context_destroy(ctx);
    return 0;
}
