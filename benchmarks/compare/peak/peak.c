/*
 * The machine's limits that benchmarks/compare/cpu.sh measures kernels against:
 *
 *   fma   float32 FMA peak: independent chains of vfmadd on registers only (no memory traffic),
 *         AVX-512 (16 lanes) where the CPU has avx512f, else AVX2 + FMA (8 lanes).
 *         FLOPs = threads x iterations x chains x lanes x 2 (a multiply-add counts 2).
 *   copy  STREAM's "Copy" kernel, c[i] = a[i] over float arrays far larger than the last-level
 *         cache, with ordinary (not non-temporal) stores, as a compiled kernel writes its output.
 *         Bytes counted = read + write (2 x 4 bytes per element), as STREAM counts them; the
 *         write-allocate read the hardware adds for ordinary stores is not counted.
 *
 * Each measurement is repeated (--runs) per thread count; one JSON object per line goes to stdout
 * with every run, the best and the median. The best is the limit (the least disturbed run on a
 * shared machine); the median says how noisy the machine was.
 *
 *   gcc -O2 -fopenmp -o peak peak.c && ./peak [--threads 1,2] [--runs 5] [--seconds 0.2] [--mib 128]
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAINS 12 /* > FMA latency (4) x FMA pipes (2): every pipe busy every cycle */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The result feeds a sink so that the compiler cannot drop the chains. */
__attribute__((target("avx512f"))) static float fma_avx512(long iters) {
    __m512 acc[CHAINS];
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
    }
    float s = 0;
    for (int i = 0; i < CHAINS; i++) s += _mm512_reduce_add_ps(acc[i]);
    return s;
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iters) {
    __m256 acc[CHAINS];
    const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], b, c);
    }
    float lanes[8], s = 0;
    for (int i = 0; i < CHAINS; i++) {
        _mm256_storeu_ps(lanes, acc[i]);
        for (int j = 0; j < 8; j++) s += lanes[j];
    }
    return s;
}

static volatile float sink;

/* Seconds for every thread to run `iters` iterations of its own chains. */
static double fma_time(int threads, int avx512, long iters) {
    double t0 = now();
    float s = 0;
#pragma omp parallel num_threads(threads) reduction(+ : s)
    s += avx512 ? fma_avx512(iters) : fma_avx2(iters);
    double t = now() - t0;
    sink = s;
    return t;
}

/* STREAM Copy over this thread's share (the same static split as the first touch). */
__attribute__((target("avx2"))) static void copy_avx2(float *restrict c, const float *restrict a, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 x0 = _mm256_loadu_ps(a + i), x1 = _mm256_loadu_ps(a + i + 8);
        __m256 x2 = _mm256_loadu_ps(a + i + 16), x3 = _mm256_loadu_ps(a + i + 24);
        _mm256_storeu_ps(c + i, x0);
        _mm256_storeu_ps(c + i + 8, x1);
        _mm256_storeu_ps(c + i + 16, x2);
        _mm256_storeu_ps(c + i + 24, x3);
    }
    for (; i < n; i++) c[i] = a[i];
}

static double copy_time(int threads, float *c, const float *a, size_t n) {
    double t0 = now();
#pragma omp parallel num_threads(threads)
    {
        int id = omp_get_thread_num(), nt = omp_get_num_threads();
        size_t begin = n * id / nt, end = n * (id + 1) / nt;
        copy_avx2(c + begin, a + begin, end - begin);
    }
    return now() - t0;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* One JSON line: rates of every run (best first is not assumed), best and median. */
static void report(const char *what, const char *isa, int threads, const char *unit, double *rates, int runs) {
    double sorted[64];
    memcpy(sorted, rates, runs * sizeof(double));
    qsort(sorted, runs, sizeof(double), cmp);
    double median = runs % 2 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2;
    printf("{\"what\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"unit\": \"%s\", \"best\": %.2f, \"median\": %.2f, \"runs\": [",
           what, isa, threads, unit, sorted[runs - 1], median);
    for (int i = 0; i < runs; i++) printf("%s%.2f", i ? ", " : "", rates[i]);
    printf("]}\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    int thread_list[16] = {1, 2}, nthreads = 2, runs = 5;
    double seconds = 0.2;
    long mib = 128;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            nthreads = 0;
            for (char *tok = strtok(argv[++i], ","); tok && nthreads < 16; tok = strtok(NULL, ","))
                thread_list[nthreads++] = atoi(tok);
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--mib") && i + 1 < argc) {
            mib = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--threads 1,2] [--runs 5] [--seconds 0.2] [--mib 128]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 64 || nthreads < 1 || seconds <= 0 || mib < 1) {
        fprintf(stderr, "peak: bad arguments\n");
        return 2;
    }
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f");
    if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        fprintf(stderr, "peak: this CPU has neither AVX-512 nor AVX2 + FMA\n");
        return 1;
    }
    const char *isa = avx512 ? "avx512f" : "avx2+fma";
    int lanes = avx512 ? 16 : 8;
    double rates[64];

    /* Calibrate the iteration count to about `seconds` per run on one thread. */
    long iters = 1 << 20;
    for (double t = fma_time(1, avx512, iters); t < seconds / 4; t = fma_time(1, avx512, iters)) iters *= 2;
    iters = (long)(iters * seconds / fma_time(1, avx512, iters)) + 1;
    for (int k = 0; k < nthreads; k++) {
        int th = thread_list[k];
        fma_time(th, avx512, iters / 8); /* wake the threads */
        for (int r = 0; r < runs; r++)
            rates[r] = (double)th * iters * CHAINS * lanes * 2 / fma_time(th, avx512, iters) / 1e9;
        report("fma", isa, th, "GFLOP/s", rates, runs);
    }

    size_t n = (size_t)mib << 20 >> 2; /* floats per array */
    float *a = aligned_alloc(64, n * sizeof(float)), *c = aligned_alloc(64, n * sizeof(float));
    if (!a || !c) {
        fprintf(stderr, "peak: cannot allocate 2 x %ld MiB\n", mib);
        return 1;
    }
    for (int k = 0; k < nthreads; k++) {
        int th = thread_list[k];
        /* First touch by the same threads and split as the copy, so pages sit where they are used. */
#pragma omp parallel num_threads(th)
        {
            int id = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t begin = n * id / nt, end = n * (id + 1) / nt;
            for (size_t i = begin; i < end; i++) a[i] = (float)(i & 1023), c[i] = 0;
        }
        copy_time(th, c, a, n);
        for (int r = 0; r < runs; r++) rates[r] = 2.0 * n * sizeof(float) / copy_time(th, c, a, n) / 1e9;
        report("copy", "avx2", th, "GB/s", rates, runs);
    }
    free(a);
    free(c);
    return 0;
}
