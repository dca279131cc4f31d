#!/usr/bin/env bash
# SDPA forward, CPU form, with the query heads of a kv head packed into one work-item (FWD_HEADS, Tune.fwdHeads) against
# one head per work-item, in alternation (bench/results/ab.sh): GQA 32/8 D = 128 prefill over a 4096-key cache (dense,
# paged with pages of 16 and 256), dense GQA at S = 1024, and an MHA control whose plan is the same in both.
# Usage (repository root): bash bench/results/sdpa-cpu-heads-pocl/run.sh JAR [ROUNDS] [DTYPE]
#   BASE runs JAR with -Dattn4j.opencl.tune=fwdHeads=1, AFTER with the planner's default.
set -euo pipefail
out=bench/results/sdpa-cpu-heads-pocl/${3:-f32}
mkdir -p "$out"
BASE_OPTS=-Dattn4j.opencl.tune=fwdHeads=1 bash bench/results/ab.sh "$out" "$1" "$1" "${2:-3}" --backend opencl \
    --op sdpa --warmup 3 --iters 10 --dtype "${3:-f32}" \
    --shapes sdpa:b=1:h=32:hkv=8:sq=256:sk=4096:d=128,sdpa:b=1:h=32:hkv=8:sq=256:sk=4096:d=128:page=16,sdpa:b=1:h=32:hkv=8:sq=256:sk=4096:d=128:page=256,sdpa:b=1:h=32:hkv=8:s=1024:d=128,sdpa:b=1:h=8:s=512:d=64
