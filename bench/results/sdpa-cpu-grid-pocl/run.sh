#!/usr/bin/env bash
# SDPA forward CPU form on PoCL: row blocks padded to a multiple of 64 work-groups (BASE) against a power of two up
# to 64, then multiples of 64 (AFTER, after.patch), in alternation (bench/results/ab.sh).
# Usage (repository root): bash bench/results/sdpa-cpu-grid-pocl/run.sh BASE.jar AFTER.jar [ROUNDS]
set -euo pipefail
shapes=sdpa:b=1:h=8:s=128:d=64,sdpa:b=1:h=8:s=256:d=64,sdpa:b=1:h=8:s=512:d=64,sdpa:b=1:h=8:s=512:d=64:causal
shapes=$shapes,sdpa:b=1:h=8:s=1024:d=64,sdpa:b=1:h=32:hkv=8:sq=256:sk=4096:d=128,sdpa_bwd:b=1:h=8:s=512:d=64
bash bench/results/ab.sh bench/results/sdpa-cpu-grid-pocl "$1" "$2" "${3:-3}" --backend opencl --warmup 3 --iters 20 \
    --shapes "$shapes"
