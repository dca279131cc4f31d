#!/usr/bin/env bash
# The SDPA forward and backward figures of bench/results/sdpa-backward-pocl on PoCL: the host's fp32 FMA
# peak (bench/peak/fma_peak.c) before and after, the bench runner on [1, 8, S, 64] f32 forward and backward
# for S = 512 .. 4096 (backward FLOPs = 2.5x the forward's), the load average before and after.
# Run from the repository root after: mvn -B -q package -DskipTests
set -euo pipefail
out=bench/results/sdpa-backward-pocl
gcc -O2 -march=native -fopenmp bench/peak/fma_peak.c -o /tmp/fma_peak
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)";
  /tmp/fma_peak; } > "$out/peak.txt"
shapes=""
for s in 512 1024 2048 4096; do shapes="$shapes,sdpa:b=1:h=8:s=$s:d=64,sdpa_bwd:b=1:h=8:s=$s:d=64"; done
java -jar bench/target/attn4j.jar bench --backend opencl --no-progress --warmup 1 --iters 10 --max-seconds 120 \
    --shapes "${shapes#,}" --out "$out"
{ /tmp/fma_peak; echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"; } >> "$out/peak.txt"
