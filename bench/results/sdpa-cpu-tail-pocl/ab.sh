#!/bin/bash
# alternate jar:opts variants; prints median and min ms per shape per variant per round (from results.csv)
shapes=$1; shift; rounds=$1; shift; iters=${ITERS:-40}
for r in $(seq $rounds); do
  for v in "$@"; do
    jar=${v%%:*}; opt=${v#*:}
    rm -rf /tmp/kt
    java -Dattn4j.opencl.options="$opt" -jar $jar bench --backend opencl --warmup 3 --iters $iters --shapes "$shapes" --no-progress --out /tmp/kt >/dev/null 2>&1
    line=$(awk -F, 'NR>1 && $1=="attn4j-opencl" {printf "%s/%s ", $18, $19}' /tmp/kt/results.csv)
    echo "r$r [$v] $line"
  done
done
