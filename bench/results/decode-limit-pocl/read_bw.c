/* Read and copy bandwidth of the host with plain AVX2 loops on every core (OpenMP): the memory ceiling the decode kernel is
 * measured against here. Build: gcc -O2 -mavx2 -fopenmp -o /tmp/read_bw bench/results/decode-limit-pocl/read_bw.c
 * Run: /tmp/read_bw BYTES (8 repetitions; copy counts read + write bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
#include <immintrin.h>
int main(int c,char**v){ long n=atol(v[1])/4; float*a=aligned_alloc(64,n*4),*b=aligned_alloc(64,n*4); for(long i=0;i<n;i++){a[i]=i;b[i]=0;}
 for(int r=0;r<8;r++){ double t0=omp_get_wtime(); __m256 acc=_mm256_setzero_ps();
 #pragma omp parallel
 { __m256 s0=_mm256_setzero_ps(),s1=s0,s2=s0,s3=s0;
 #pragma omp for
 for(long i=0;i<n;i+=32){ s0=_mm256_add_ps(s0,_mm256_load_ps(a+i)); s1=_mm256_add_ps(s1,_mm256_load_ps(a+i+8)); s2=_mm256_add_ps(s2,_mm256_load_ps(a+i+16)); s3=_mm256_add_ps(s3,_mm256_load_ps(a+i+24)); }
 #pragma omp critical
 acc=_mm256_add_ps(acc,_mm256_add_ps(_mm256_add_ps(s0,s1),_mm256_add_ps(s2,s3))); }
 double t1=omp_get_wtime();
 #pragma omp parallel for
 for(long i=0;i<n;i++) b[i]=a[i];
 double t2=omp_get_wtime(); float f[8]; _mm256_storeu_ps(f,acc);
 printf("read %.1f GB/s   copy(r+w) %.1f GB/s  %g\n", n*4/(t1-t0)/1e9, 2.0*n*4/(t2-t1)/1e9, f[0]); }
}
