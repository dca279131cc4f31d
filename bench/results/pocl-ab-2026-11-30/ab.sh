#!/usr/bin/env bash
# Before/after of this day's PoCL kernel changes, back to back on the same host: two builds of the CLI jar
# (BASE, AFTER), run in alternation ROUNDS times over the same points, each run writing its own folder;
# summary.py then takes, per point and build, the median over the rounds of each run's median.
# Usage (repository root): bash bench/results/pocl-ab-2026-11-30/ab.sh BASE.jar AFTER.jar [ROUNDS]
# The jars: `mvn -B -q package -DskipTests -Dattn4j.skipKernels=true -pl bench -am` at each commit, copied
# out of bench/target/attn4j.jar. --warmup 20 on both (the base build has no --warmup-ms).
set -euo pipefail
base=$1 after=$2 rounds=${3:-3}
out=bench/results/pocl-ab-2026-11-30
S=sdpa:b=1:h=32:hkv=8:sq=1:sk=8192:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128
S=$S,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128:page=16
S=$S,softmax:r=131072:n=128,softmax:r=16384:n=1024,softmax:r=512:n=32768,softmax_bwd:r=16384:n=1024
S=$S,sdpa:b=1:h=8:s=1024:d=64,sdpa_bwd:b=1:h=8:s=512:d=64,sdpa_bwd:b=1:h=8:s=1024:d=64,sdpa_bwd:b=1:h=8:s=2048:d=64
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "base: $base"; echo "after: $after"; echo "rounds: $rounds";
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/provenance.txt"
for r in $(seq 1 "$rounds"); do
    for which in base after; do
        jar=$base; [ "$which" = after ] && jar=$after
        java -jar "$jar" bench --backend opencl --no-progress --warmup 20 --iters 12 --max-seconds 120 \
            --shapes "$S" --out "$out/runs/$which-$r" > /dev/null
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/provenance.txt"
python3 "$out/summary.py" "$out/runs" > "$out/summary.md"
cat "$out/summary.md"
