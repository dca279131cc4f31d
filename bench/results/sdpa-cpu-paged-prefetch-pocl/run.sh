#!/usr/bin/env bash
# Before/after of the SDPA forward's CPU form on paged K/V (chunked prefill through the block table) on PoCL, in
# alternation: BASE and AFTER jars run the same points in turn, ROUNDS times; the dense point is the control.
# Usage (repository root): bash bench/results/sdpa-cpu-paged-prefetch-pocl/run.sh BASE.jar AFTER.jar [ROUNDS]
set -euo pipefail
base=$1 after=$2 rounds=${3:-3}
out=bench/results/sdpa-cpu-paged-prefetch-pocl
S=sdpa:b=1:h=8:hkv=8:sq=512:sk=512:d=64:page=16
S=$S,sdpa:b=1:h=32:hkv=8:sq=256:sk=4096:d=128:page=16,sdpa:b=1:h=32:hkv=8:sq=256:sk=4096:d=128:page=256
S=$S,sdpa:b=4:h=32:hkv=8:sq=128:sk=2048:d=128:page=16:varlen,sdpa:b=1:h=32:hkv=8:sq=256:sk=4096:d=128
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "base: $base"; echo "after: $after"; echo "rounds: $rounds";
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/provenance.txt"
for r in $(seq 1 "$rounds"); do
    for which in base after; do
        jar=$base; [ "$which" = after ] && jar=$after
        java -jar "$jar" bench --backend opencl --no-progress --warmup 3 --iters 10 --max-seconds 60 \
            --shapes "$S" --out "$out/runs/$which-$r" > /dev/null
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/provenance.txt"
python3 bench/results/pocl-ab-2026-11-30/summary.py "$out/runs" > "$out/summary.md"
cat "$out/summary.md"
