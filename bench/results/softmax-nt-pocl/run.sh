#!/usr/bin/env bash
# Masked softmax forward and backward on PoCL before and after non-temporal stores of large outputs (STORE_NT,
# smNtKiB): BASE and AFTER builds of the CLI jar in alternation ROUNDS times over the softmax and softmax-bwd sets
# (R·N = 2^24, N = 128-32768) in f32, f16 and bf16; summary.md: per point and build the median over the rounds of
# each run's median.
# Usage (repository root): bash bench/results/softmax-nt-pocl/run.sh BASE.jar AFTER.jar [ROUNDS]
# The jars: `mvn -B -q package -DskipTests -Dattn4j.skipKernels=true -pl bench -am` at each commit, copied out of
# bench/target/attn4j.jar.
set -euo pipefail
base=$1 after=$2 rounds=${3:-3}
out=bench/results/softmax-nt-pocl
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "base: $base"; echo "after: $after"; echo "rounds: $rounds";
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/provenance.txt"
for r in $(seq 1 "$rounds"); do
    for which in base after; do
        jar=$base; [ "$which" = after ] && jar=$after
        java -jar "$jar" bench --backend opencl --no-progress --warmup 5 --iters 10 --dtype f32,f16,bf16 \
            --shapes softmax,softmax-bwd --out "$out/runs/$which-$r" > /dev/null
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/provenance.txt"
python3 "$out/summary.py" "$out/runs" > "$out/summary.md"
cat "$out/summary.md"
