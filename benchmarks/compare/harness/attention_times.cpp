// GFLOP/s of uc_attention_added_kv at the built-in decoder's and Karlo decoder's shapes, through
// the C ABI, best of four rounds in process CPU time: for comparing two builds of libunclip_cpu
// side by side, as gemm_times.cpp (build and run it the same way, with this file's name).
#include "unclip.h"
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>
static double now() { timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main() {
    uc_context *ctx; uc_context_create(0, &ctx);
    // batch, lq (= ls), lt, heads, head_dim
    const long shapes[][5] = {{2, 256, 36, 2, 32}, {2, 64, 36, 4, 32}, {2, 1024, 81, 10, 64}, {2, 256, 81, 20, 64}, {2, 64, 81, 20, 64}};
    for (auto &s : shapes) {
        long b = s[0], lq = s[1], lt = s[2], h = s[3], d = s[4], c = h * d;
        std::vector<float> q(b * lq * c), ks(b * lq * c), vs(b * lq * c), kt(b * lt * c), vt(b * lt * c), out(b * lq * c);
        for (size_t i = 0; i < q.size(); ++i) q[i] = ks[i] = vs[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        for (size_t i = 0; i < kt.size(); ++i) kt[i] = vt[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
        double flop = 4.0 * b * h * lq * (lq + lt) * d;
        int reps = std::max(1, (int)(2e9 / flop));
        double best = 1e9;
        for (int r = 0; r < 4; ++r) {
            double t0 = now();
            for (int i = 0; i < reps; ++i)
                uc_attention_added_kv(ctx, UC_F32, q.data(), c, kt.data(), vt.data(), c, nullptr, lt, ks.data(), vs.data(), c, lq, out.data(), b, lq, h, d, 0.125f);
            best = std::min(best, (now() - t0) / reps);
        }
        printf("attn b%ld lq%ld lt%ld h%ld d%ld: %.3f ms, %.1f GFLOP/s\n", b, lq, lt, h, d, best * 1e3, flop / best / 1e9);
    }
}
