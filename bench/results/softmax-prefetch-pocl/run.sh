#!/usr/bin/env bash
# The softmax forward's row-per-item exp pass prefetching the next row (AFTER) against its touch-ahead loads (BASE),
# in alternation through ../ab.sh; BASE.jar and AFTER.jar from `mvn -B -q package -DskipTests -Dattn4j.skipKernels=true
# -pl bench -am` at each commit. From the repository root: bash bench/results/softmax-prefetch-pocl/run.sh BASE.jar AFTER.jar ROUNDS
set -euo pipefail
mkdir -p bench/results/softmax-prefetch-pocl/bench
bash bench/results/ab.sh bench/results/softmax-prefetch-pocl/bench "$1" "$2" "${3:-2}" \
    --backend opencl --warmup 2 --iters 10 --dtype f32,f16,bf16 --op softmax --shapes softmax
