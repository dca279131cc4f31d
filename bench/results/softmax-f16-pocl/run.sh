#!/usr/bin/env bash
# Masked softmax forward on PoCL before and after the 2026-11-30 evening change (exp2_ftz, f16/bf16 keep e in a
# private float row, raw-bit touch-ahead): BASE and AFTER builds of the CLI jar run in alternation ROUNDS times
# over the softmax set in f32, f16 and bf16 (summary.md: per point and build the median over the rounds of each
# run's median), then one plain run of the softmax and softmax-bwd sets with AFTER (current/).
# Usage (repository root): bash bench/results/softmax-f16-pocl/run.sh BASE.jar AFTER.jar [ROUNDS]
# The jars: `mvn -B -q package -DskipTests -Dattn4j.skipKernels=true -pl bench -am` at each commit, copied out of
# bench/target/attn4j.jar.
set -euo pipefail
base=$1 after=$2 rounds=${3:-2}
out=bench/results/softmax-f16-pocl
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "base: $base"; echo "after: $after"; echo "rounds: $rounds";
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/provenance.txt"
for r in $(seq 1 "$rounds"); do
    for which in base after; do
        jar=$base; [ "$which" = after ] && jar=$after
        java -jar "$jar" bench --backend opencl --no-progress --warmup 5 --iters 10 --dtype f32,f16,bf16 \
            --shapes softmax --out "$out/runs/$which-$r" > /dev/null
    done
done
java -jar "$after" bench --backend opencl --no-progress --warmup 5 --iters 10 --dtype f32,f16 \
    --shapes softmax,softmax-bwd --out "$out/current" > /dev/null
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/provenance.txt"
python3 "$out/summary.py" "$out/runs" > "$out/summary.md"
cat "$out/summary.md"
