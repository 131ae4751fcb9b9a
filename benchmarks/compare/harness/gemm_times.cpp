// GFLOP/s of uc_conv2d and uc_linear at fixed shapes, straight through the C ABI: the quick
// check behind gemm.cpp's design notes, for comparing two builds of libunclip_cpu side by side
// (run the same binary with LD_LIBRARY_PATH pointing at each, alternating). Times are the best of
// three, in process CPU time (what a shared machine's load disturbs least at one thread) and
// wall time. Weights are prepared (uc_weight_prepare), as the networks' are.
//
//   g++ -O2 -I native/include benchmarks/compare/harness/gemm_times.cpp -o /tmp/gemm_times
//       -L bindings/target/classes/native/linux-x86_64 -lunclip_cpu      (one command)
//   OMP_NUM_THREADS=1 LD_LIBRARY_PATH=bindings/target/classes/native/linux-x86_64 /tmp/gemm_times
//
// For the measurement against PyTorch at every shape the networks run, use benchmarks/compare/cpu.sh.
#include "timing.h"

#include <algorithm>
#include <cstdio>
#include <vector>

using harness::best_of_three;
using harness::check;

int main() {
    uc_context *ctx;
    if (uc_context_create(0, &ctx) != UC_OK) return 1;
    // N, H, W, Cin, Cout, kernel (stride 1, padding kernel / 2): the built-in model's super-res
    // and decoder, then Karlo's decoder and super-res.
    const int convs[][6] = {{1, 128, 128, 6, 32, 3},  {1, 128, 128, 32, 32, 3},  {1, 64, 64, 64, 64, 3},
                            {2, 32, 32, 32, 32, 3},   {2, 8, 8, 128, 128, 3},    {1, 128, 128, 32, 3, 3},
                            {2, 64, 64, 320, 320, 3}, {2, 16, 16, 960, 960, 3},  {2, 8, 8, 1280, 1280, 3},
                            {1, 128, 128, 640, 640, 3}, {1, 256, 256, 320, 320, 3}, {1, 64, 64, 1920, 960, 3},
                            {1, 32, 32, 2560, 1280, 3}, {2, 32, 32, 1600, 640, 3}, {2, 64, 64, 3, 320, 3},   {1, 256, 256, 6, 320, 3}};
    for (const auto &s : convs) {
        const int n = s[0], h = s[1], w = s[2], cin = s[3], cout = s[4], k = s[5];
        std::vector<float> x((size_t)n * h * w * cin, 0.5f), wt((size_t)cout * k * k * cin, 0.01f), b(cout, 0.1f),
            out((size_t)n * h * w * cout);
        check(ctx, uc_weight_prepare(ctx, UC_F32, wt.data(), cout, (int64_t)k * k * cin));
        const double flop = 2.0 * n * h * w * cout * (double)k * k * cin;
        double cpu, wall;
        best_of_three(std::max(1, (int)(2e9 / flop)), [&] {
            check(ctx, uc_conv2d(ctx, UC_F32, x.data(), wt.data(), b.data(), nullptr, out.data(), n, h, w, cin, cout, k,
                                 k, 1, k / 2, 1.0f));
        }, cpu, wall);
        std::printf("conv %dx%dx%dx%d->%d k%d: %.3f ms, %.1f GFLOP/s (CPU time); %.1f GFLOP/s (wall)\n", n, h, w, cin,
                    cout, k, cpu * 1e3, flop / cpu / 1e9, flop / wall / 1e9);
    }
    // m, n, k: Karlo's prior (162 rows = 2 × 81 tokens), small products of the built-in model, then
    // two-row products (below 6 rows: dot products, not the GEMM) of Karlo's decoder: its resnets'
    // time_emb_proj (scale ‖ shift of 640–2560 channels from the 1280-wide time embedding).
    const int linears[][3] = {{162, 2048, 2048}, {162, 8192, 2048}, {162, 2048, 8192}, {72, 512, 128}, {2048, 128, 128},
                              {2, 2560, 1280}, {2, 1280, 1280}, {2, 640, 1280}};
    for (const auto &l : linears) {
        const int m = l[0], n = l[1], k = l[2];
        std::vector<float> x((size_t)m * k, 0.5f), wt((size_t)n * k, 0.01f), out((size_t)m * n);
        // As the engine holds a checkpoint's weight: prepared, its row-major pages handed back.
        int32_t released;
        check(ctx, uc_weight_prepare(ctx, UC_F32, wt.data(), n, k));
        check(ctx, uc_weight_release(ctx, wt.data(), &released));
        const double flop = 2.0 * m * n * k;
        double cpu, wall;
        best_of_three(std::max(1, (int)(1e9 / flop)), [&] {
            check(ctx, uc_linear(ctx, UC_F32, x.data(), wt.data(), nullptr, nullptr, out.data(), m, n, k, UC_ACT_NONE));
        }, cpu, wall);
        std::printf("linear m%d n%d k%d: %.3f ms, %.1f GFLOP/s (CPU time); %.1f GFLOP/s (wall)\n", m, n, k, cpu * 1e3,
                    flop / cpu / 1e9, flop / wall / 1e9);
        check(ctx, uc_weight_forget(ctx, wt.data()));  // before the vector's memory goes back to malloc
    }
    uc_context_destroy(ctx);
    return 0;
}
