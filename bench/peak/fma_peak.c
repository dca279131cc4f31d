/*
 * fma_peak.c: the measured fp32 FMA peak of this CPU, the ceiling that the OpenCL (PoCL) GEMM is
 * compared with in bench/results/. Every thread runs 12 independent chains of 16-wide (AVX-512) or
 * 8-wide (AVX2) fused multiply-adds, enough to cover the FMA latency on current x86 cores; the
 * best of 5 runs is reported as GFLOP/s (an FMA counts as 2 flops).
 *
 *   gcc -O2 -march=native -fopenmp bench/peak/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak [threads]
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define W 16
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define STORE _mm512_storeu_ps
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 vec;
#define W 8
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define STORE _mm256_storeu_ps
#else
#error "needs AVX-512F or AVX2+FMA (compile with -march=native)"
#endif

#define CHAINS 12
static const long ITERS = 40L * 1000 * 1000;

/* twelve named accumulators, not an array: an array indexed in a loop is kept in memory by gcc -O2
 * and the loop then measures store-to-load forwarding, not the FMA units (the first version of this
 * file reported 24.6 GFLOP/s on a host whose cores do ~200) */
#define STEP(v) v = FMA(v, x, y)
static float run(void) {
    const vec x = SET1(0.999999f), y = SET1(1e-7f);
    vec a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5);
    vec a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11);
    for (long i = 0; i < ITERS; i++) {
        STEP(a0); STEP(a1); STEP(a2); STEP(a3); STEP(a4); STEP(a5);
        STEP(a6); STEP(a7); STEP(a8); STEP(a9); STEP(a10); STEP(a11);
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
        __asm__ volatile("" : "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
    vec s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));
    float out[W];
    STORE(out, s);
    return out[0];
}

int main(int argc, char** argv) {
    int threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
    double best = 0;
    volatile float sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += run();
        double dt = omp_get_wtime() - t0;
        double gflops = 2.0 * W * CHAINS * (double)ITERS * threads / dt / 1e9;
        if (gflops > best) best = gflops;
    }
    printf("fma_peak: %d threads, %d-wide, %.1f GFLOP/s fp32 (best of 5)\n", threads, W, best);
    return sink == 12345.0f ? 1 : 0;
}
