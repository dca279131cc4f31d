#!/bin/bash
# alternate env settings: envab.sh SHAPES ROUNDS "ENV_A" "ENV_B"   (ENV as VAR=VAL or "-")
shapes=$1; rounds=$2; shift 2; iters=${ITERS:-40}
for r in $(seq $rounds); do
  for v in "$@"; do
    rm -rf /tmp/kt
    if [ "$v" = "-" ]; then java -jar ${JAR:-bench/target/attn4j.jar} bench --backend opencl --warmup 3 --iters $iters --shapes "$shapes" --no-progress --out /tmp/kt >/dev/null 2>&1
    else env $v java -jar ${JAR:-bench/target/attn4j.jar} bench --backend opencl --warmup 3 --iters $iters --shapes "$shapes" --no-progress --out /tmp/kt >/dev/null 2>&1; fi
    line=$(awk -F, 'NR>1 && $1=="attn4j-opencl" {printf "%s/%s ", $18, $19}' /tmp/kt/results.csv)
    echo "r$r [$v] $line"
  done
done
