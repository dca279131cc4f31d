#!/usr/bin/env bash
# Is OpenCL decode on PoCL bound by its memory or by its arithmetic? Per round, in one process each and in
# alternation: the copy ceiling (clEnqueueCopyBuffer, 256 MiB), the host's fp32 FMA peak (bench/peak/fma_peak.c),
# and decode B=1, Hq=32, Hkv=8, D=128 as the planner runs it (dense: 2 splits; paged, page 16: 16 splits of 8 kv
# heads per item), each twice: reading its K/V ("full") and with every key on one cached row or page
# ("cached": ALIAS=1 dense, ONEPAGE=1 paged; the kernel's arithmetic and its loads from L1/L2 alone).
# From the repository root: bash bench/results/decode-compute-pocl/run.sh ROUNDS > bench/results/decode-compute-pocl/rounds.txt
set -euo pipefail
rounds=${1:-3}
gcc -O2 -o /tmp/dech bench/results/pocl-ab-2026-11-30/decode_harness.c -lOpenCL -lm
gcc -O2 -march=native -fopenmp bench/peak/fma_peak.c -o /tmp/fma_peak
k=kernels/opencl/sdpa_decode.cl
run() { local label=$1; shift; echo "$label | $(ITERS=20 "$@" | tail -1)"; }
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
    echo "== round $r"
    run "copy ceiling (and dense f32 Sk=8k full)" env COPY=1 /tmp/dech $k 8192 2 -DDEC_BN=16
    echo "fma | $(/tmp/fma_peak | tail -1)"
    for dt in f32 f16; do
        f16=; [ $dt = f16 ] && f16=1
        for sk in 8192 32768; do
            run "dense $dt Sk=$sk full" env ${f16:+F16=1} /tmp/dech $k $sk 2 -DDEC_BN=16
            run "dense $dt Sk=$sk cached" env ${f16:+F16=1} ALIAS=1 /tmp/dech $k $sk 2 -DDEC_BN=16
        done
        run "paged16 $dt Sk=32768 full" env ${f16:+F16=1} /tmp/dech $k 32768 16 -DDEC_BN=16 16 8
        run "paged16 $dt Sk=32768 cached" env ${f16:+F16=1} ONEPAGE=1 /tmp/dech $k 32768 16 -DDEC_BN=16 16 8
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
