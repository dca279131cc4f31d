#!/usr/bin/env bash
# Decode (Sq = 1) on PoCL, dense and paged, f32 and f16: the points of bench/results/serve-pocl-2 and -3, and the softmax sets (forward and backward).
# Run from the repository root after: mvn -B -q package -DskipTests
set -euo pipefail
S=sdpa:b=1:h=32:hkv=8:sq=1:sk=8192:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=8192:d=128:page=16
S=$S,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128:page=16
S=$S,sdpa:b=1:h=32:hkv=8:sq=1:sk=32768:d=128:page=256,sdpa:b=8:h=32:hkv=8:sq=1:sk=8192:d=128:page=16:varlen
S=$S,sdpa:b=8:h=32:hkv=8:sq=1:sk=8192:d=128:varlen,sdpa:b=1:h=64:hkv=8:sq=1:sk=16384:d=128
S=$S,sdpa:b=1:h=32:hkv=32:sq=1:sk=8192:d=128
java -jar bench/target/attn4j.jar bench --backend opencl --no-progress --warmup 2 --iters 10 --dtype f32,f16 \
    --shapes "$S" --out bench/results/serve-pocl-3/current
java -jar bench/target/attn4j.jar bench --backend opencl --no-progress --warmup 2 --iters 10 --dtype f32,f16 \
    --shapes softmax,softmax-bwd --out bench/results/serve-pocl-3/softmax
