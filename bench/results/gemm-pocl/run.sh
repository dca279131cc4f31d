#!/usr/bin/env bash
# The GEMM figures of bench/results/gemm-pocl: the host's measured fp32 FMA peak (bench/peak/fma_peak.c),
# then the bench runner on the public GEMM (PoCL), then the FMA peak again; the load average is recorded
# before and after. Run from the repository root after: mvn -B -q package -DskipTests
set -euo pipefail
out=bench/results/gemm-pocl
gcc -O2 -march=native -fopenmp bench/peak/fma_peak.c -o /tmp/fma_peak
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)";
  /tmp/fma_peak; } > "$out/peak.txt"
java -jar bench/target/attn4j.jar bench --backend opencl --shapes gemm:m=1024:n=1024:k=1024,gemm:m=512:n=512:k=512,gemm:m=2048:n=2048:k=2048 \
    --warmup 2 --iters 10 --out "$out"
{ /tmp/fma_peak; echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"; } >> "$out/peak.txt"
