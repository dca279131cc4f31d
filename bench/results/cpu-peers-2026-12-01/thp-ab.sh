#!/bin/bash
shapes=$1; rounds=$2; iters=${ITERS:-40}
for r in $(seq $rounds); do
  for v in always madvise; do
    echo $v > /sys/kernel/mm/transparent_hugepage/enabled
    rm -rf /tmp/kt
    java -jar ${JAR:-bench/target/attn4j.jar} bench --backend opencl --warmup 3 --iters $iters --shapes "$shapes" --no-progress --out /tmp/kt >/dev/null 2>&1
    line=$(awk -F, 'NR>1 && $1=="attn4j-opencl" {printf "%s/%s ", $18, $19}' /tmp/kt/results.csv)
    echo "r$r [$v] $line $(grep AnonHuge /proc/meminfo | awk '{print $2}')"
  done
done
echo madvise > /sys/kernel/mm/transparent_hugepage/enabled
