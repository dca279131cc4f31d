#!/usr/bin/env bash
# The decode kernel with the score loop's prefetches (AFTER) against the touch-ahead it replaced for one kv head per
# item (BASE), in alternation: the bench's decode points (f32, f16) through ../ab.sh, BASE.jar and AFTER.jar built
# with `mvn -B -q package -DskipTests -Dattn4j.skipKernels=true -pl bench -am` at each commit. From the repository root:
#   bash bench/results/decode-prefetch-pocl/run.sh BASE.jar AFTER.jar ROUNDS
set -euo pipefail
S=sdpa:b=1:h=32:hkv=8:sq=1:sk=8192:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128
S=$S,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128:page=16,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128:page=256
S=$S,sdpa:b=8:h=32:hkv=8:sq=1:sk=8192:d=128:varlen,sdpa:b=1:h=64:hkv=8:sq=1:sk=16384:d=128
S=$S,sdpa:b=1:h=32:hkv=32:sq=1:sk=8192:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=65536:d=128
mkdir -p bench/results/decode-prefetch-pocl/bench
bash bench/results/ab.sh bench/results/decode-prefetch-pocl/bench "$1" "$2" "${3:-2}" \
    --backend opencl --warmup 2 --iters 10 --dtype f32,f16 --shapes "$S"
