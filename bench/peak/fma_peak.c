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

static float run(void) {
    vec a[CHAINS];
    const vec x = SET1(0.999999f), y = SET1(1e-7f);
    for (int c = 0; c < CHAINS; c++) a[c] = SET1((float)c);
    for (long i = 0; i < ITERS; i++) {
        for (int c = 0; c < CHAINS; c++) a[c] = FMA(a[c], x, y);
    }
    vec s = a[0];
    for (int c = 1; c < CHAINS; c++) s = ADD(s, a[c]);
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
