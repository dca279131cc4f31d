#!/usr/bin/env bash
# Before/after of the row-lane CPU forms of the SDPA forward and of the fused SDPA backward on PoCL: two builds
# of the CLI jar (BASE, AFTER), run in alternation ROUNDS times over the same points, each run into its own
# folder; ../pocl-ab-2026-11-30/summary.py then takes, per point and build, the median over the rounds of each
# run's median.
# Usage (repository root): bash bench/results/sdpa-cpu-lanes-pocl/run.sh BASE.jar AFTER.jar [ROUNDS]
# The jars: `mvn -B -q package -DskipTests -Dattn4j.skipKernels=true -pl bench -am` at each commit, copied out of
# bench/target/attn4j.jar.
set -euo pipefail
base=$1 after=$2 rounds=${3:-2}
out=bench/results/sdpa-cpu-lanes-pocl
S=sdpa:b=1:h=8:s=512:d=64,sdpa:b=1:h=8:s=1024:d=64,sdpa:b=1:h=8:s=2048:d=64,sdpa:b=1:h=8:s=1024:d=128
S=$S,sdpa:b=1:h=8:s=2048:d=64:causal,sdpa:b=1:h=32:hkv=8:s=1024:d=128
S=$S,sdpa_bwd:b=1:h=8:s=512:d=64,sdpa_bwd:b=1:h=8:s=1024:d=64,sdpa_bwd:b=1:h=8:s=2048:d=64
H=sdpa:b=1:h=8:s=1024:d=64,sdpa_bwd:b=1:h=8:s=1024:d=64
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "base: $base"; echo "after: $after"; echo "rounds: $rounds";
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/provenance.txt"
for r in $(seq 1 "$rounds"); do
    for which in base after; do
        jar=$base; [ "$which" = after ] && jar=$after
        java -jar "$jar" bench --backend opencl --no-progress --warmup 3 --iters 10 --max-seconds 120 \
            --shapes "$S" --out "$out/runs/$which-$r" > /dev/null
        java -jar "$jar" bench --backend opencl --no-progress --warmup 3 --iters 10 --max-seconds 60 --dtype f16 \
            --shapes "$H" --out "$out/runs-f16/$which-$r" > /dev/null
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/provenance.txt"
{ echo "f32:"; python3 bench/results/pocl-ab-2026-11-30/summary.py "$out/runs"; echo; echo "f16:";
  python3 bench/results/pocl-ab-2026-11-30/summary.py "$out/runs-f16"; } > "$out/summary.md"
cat "$out/summary.md"
