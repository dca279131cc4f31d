#!/usr/bin/env bash
# Masked softmax forward and backward on PoCL before and after non-temporal stores of large outputs (STORE_NT,
# smNtKiB): the softmax and softmax-bwd sets (R·N = 2^24, N = 128-32768) in f32, f16 and bf16, BASE and AFTER in
# alternation (bench/results/ab.sh).
# Usage (repository root): bash bench/results/softmax-nt-pocl/run.sh BASE.jar AFTER.jar [ROUNDS]
set -euo pipefail
bash bench/results/ab.sh bench/results/softmax-nt-pocl "$1" "$2" "${3:-3}" --backend opencl --warmup 5 --iters 10 \
    --dtype f32,f16,bf16 --shapes softmax,softmax-bwd
