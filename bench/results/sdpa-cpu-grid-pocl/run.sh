#!/usr/bin/env bash
# SDPA forward CPU form on PoCL: row blocks padded to a multiple of 64 work-groups (BASE) against a power of two up
# to 64, then multiples of 64 (AFTER), in alternation ROUNDS times; summary.md: per point the median over the rounds
# of each run's median and of the per-round speed ratios.
# Usage (repository root): bash bench/results/sdpa-cpu-grid-pocl/run.sh BASE.jar AFTER.jar [ROUNDS]
# The jars: `mvn -B -q package -DskipTests -Dattn4j.skipKernels=true -pl bench -am` at each commit, copied out of
# bench/target/attn4j.jar.
set -euo pipefail
base=$1 after=$2 rounds=${3:-3}
out=bench/results/sdpa-cpu-grid-pocl
shapes=sdpa:b=1:h=8:s=128:d=64,sdpa:b=1:h=8:s=256:d=64,sdpa:b=1:h=8:s=512:d=64,sdpa:b=1:h=8:s=512:d=64:causal
shapes=$shapes,sdpa:b=1:h=8:s=1024:d=64,sdpa:b=1:h=32:hkv=8:sq=256:sk=4096:d=128,sdpa_bwd:b=1:h=8:s=512:d=64
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "base: $base"; echo "after: $after"; echo "rounds: $rounds";
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/provenance.txt"
for r in $(seq 1 "$rounds"); do
    for which in base after; do
        jar=$base; [ "$which" = after ] && jar=$after
        java -jar "$jar" bench --backend opencl --no-progress --warmup 3 --iters 20 --shapes "$shapes" \
            --out "$out/runs/$which-$r" > /dev/null
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/provenance.txt"
python3 bench/results/softmax-nt-pocl/summary.py "$out/runs" > "$out/summary.md"
cat "$out/summary.md"
