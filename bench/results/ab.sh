#!/usr/bin/env bash
# A before/after on this host's noisy CPUs: two builds of the CLI jar (BASE, AFTER) run the same `bench` arguments
# in alternation ROUNDS times, each run writing OUT/runs/<build>-<round>; OUT/provenance.txt records the date, the
# jars and the load; OUT/summary.md (ab_summary.py) gives per op, dtype and point the median over the rounds of
# each run's median and the median of the per-round speed ratios.
# Usage (repository root): bash bench/results/ab.sh OUT BASE.jar AFTER.jar ROUNDS BENCH_ARGS...
# The jars: `mvn -B -q package -DskipTests -Dattn4j.skipKernels=true -pl bench -am` at each commit, copied out of
# bench/target/attn4j.jar. BASE_OPTS and AFTER_OPTS (environment, optional) are JVM options of each build's runs, e.g.
# AFTER_OPTS=-Dattn4j.opencl.tune=fwdHeads=1 with the same jar twice compares two tunings of one build. BASE_ARGS and
# AFTER_ARGS (environment, optional) are extra bench arguments of each build's runs, e.g. BASE_ARGS="--warmup-max-ms 300".
set -euo pipefail
out=$1 base=$2 after=$3 rounds=$4
shift 4
{ echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "base: $base"; echo "after: $after"; echo "rounds: $rounds";
  echo "bench arguments: $*"; echo "base JVM options: ${BASE_OPTS:-}"; echo "after JVM options: ${AFTER_OPTS:-}";
  echo "base bench arguments: ${BASE_ARGS:-}"; echo "after bench arguments: ${AFTER_ARGS:-}"; echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$out/provenance.txt"
for r in $(seq 1 "$rounds"); do
    for which in base after; do
        jar=$base opts=${BASE_OPTS:-} args=${BASE_ARGS:-}
        [ "$which" = after ] && jar=$after opts=${AFTER_OPTS:-} args=${AFTER_ARGS:-}
        # shellcheck disable=SC2086
        java $opts -jar "$jar" bench --no-progress "$@" $args --out "$out/runs/$which-$r" > /dev/null
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/provenance.txt"
python3 bench/results/ab_summary.py "$out/runs" > "$out/summary.md"
cat "$out/summary.md"
