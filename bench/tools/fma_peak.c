/* fma_peak.c: the CPU's measured fp32 FMA peak (GFLOP/s), the ceiling quoted in
 * bench/results/opencl-pocl.md. Each thread runs 12 independent chains of 16-wide (AVX-512) or
 * 8-wide (AVX2) FMAs, enough to cover the FMA latency on every x86 core of the last decade.
 *   gcc -O2 -march=native -fopenmp bench/tools/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 * Prints the best of 5 runs per width, one thread per core (OMP_NUM_THREADS). */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define ITERS 50000000L
#define CHAINS 12
/* The chains must live in registers: unroll them by hand (a loop over a[] may be left in memory). */
#define UNROLL12(stmt)                                                                                 \
    do {                                                                                               \
        _Pragma("GCC unroll 12") for (int i = 0; i < CHAINS; i++) { stmt; }                            \
    } while (0)

#ifdef __AVX512F__
static float run512(void) {
    __m512 a[CHAINS];
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < ITERS; it++)
        UNROLL12(a[i] = _mm512_fmadd_ps(a[i], m, c));
    __m512 s = a[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, a[i]);
    return _mm512_reduce_add_ps(s);
}
#endif

static float run256(void) {
    __m256 a[CHAINS];
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < ITERS; it++)
        UNROLL12(a[i] = _mm256_fmadd_ps(a[i], m, c));
    __m256 s = a[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, a[i]);
    float o[8];
    _mm256_storeu_ps(o, s);
    return o[0] + o[7];
}

int main(void) {
    int threads = omp_get_max_threads();
    for (int w = 0; w < 2; w++) {
        int lanes = w == 0 ? 8 : 16;
#ifndef __AVX512F__
        if (lanes == 16) break;
#endif
        double best = 0;
        for (int rep = 0; rep < 5; rep++) {
            volatile float sink = 0;
            double t0 = now();
#pragma omp parallel reduction(+ : sink)
            {
#ifdef __AVX512F__
                sink += lanes == 16 ? run512() : run256();
#else
                sink += run256();
#endif
            }
            double t = now() - t0;
            double gflops = 2.0 * lanes * CHAINS * (double)ITERS * threads / t / 1e9;
            if (gflops > best) best = gflops;
        }
        printf("fp32 FMA peak, %d-wide, %d threads: %.1f GFLOP/s\n", lanes, threads, best);
    }
    return 0;
}
