#!/usr/bin/env bash
# Masked softmax forward on PoCL before and after the cheaper exp pass (the max pass over raw x, exp2 of
# (x - xm) sc log2 e without the upper clamp, a degree-4 exp2 polynomial for 16-bit outputs): the softmax set
# (R·N = 2^24, N = 128-32768) in f32, f16 and bf16, BASE and AFTER in alternation (bench/results/ab.sh).
# Usage (repository root): bash bench/results/softmax-exp-pocl/run.sh BASE.jar AFTER.jar [ROUNDS]
set -euo pipefail
bash bench/results/ab.sh bench/results/softmax-exp-pocl "$1" "$2" "${3:-3}" --backend opencl --warmup 5 --iters 10 \
    --dtype f32,f16,bf16 --shapes softmax --op softmax
