#!/usr/bin/env bash
# The decode points of ../serve-pocl-3 (f32, f16) and the softmax sets (f32, f16, bf16), timed with the bench's
# JIT-quiet warm-up (AFTER) and with the former fixed 300 ms warm-up (BASE: --warmup-max-ms 300), same jar,
# in alternation. Run from the repository root after `mvn -B -q package -DskipTests`:
#   bash bench/results/serve-pocl-4/run.sh ROUNDS
set -euo pipefail
rounds=${1:-2}
S=sdpa:b=1:h=32:hkv=8:sq=1:sk=8192:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=8192:d=128:page=16
S=$S,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128:page=16
S=$S,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128:page=256,sdpa:b=8:h=32:hkv=8:sq=1:sk=8192:d=128:page=16:varlen
S=$S,sdpa:b=8:h=32:hkv=8:sq=1:sk=8192:d=128:varlen,sdpa:b=1:h=64:hkv=8:sq=1:sk=16384:d=128
S=$S,sdpa:b=1:h=32:hkv=32:sq=1:sk=8192:d=128
jar=/tmp/serve-pocl-4.jar
cp bench/target/attn4j.jar "$jar"
mkdir -p bench/results/serve-pocl-4/decode bench/results/serve-pocl-4/softmax
BASE_ARGS="--warmup-max-ms 300" bash bench/results/ab.sh bench/results/serve-pocl-4/decode "$jar" "$jar" "$rounds" \
    --backend opencl --warmup 2 --iters 10 --dtype f32,f16 --shapes "$S"
BASE_ARGS="--warmup-max-ms 300" bash bench/results/ab.sh bench/results/serve-pocl-4/softmax "$jar" "$jar" "$rounds" \
    --backend opencl --warmup 2 --iters 10 --dtype f32,f16,bf16 --shapes softmax,softmax-bwd
