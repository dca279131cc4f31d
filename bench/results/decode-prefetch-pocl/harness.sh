#!/usr/bin/env bash
# The decode kernel alone (../pocl-ab-2026-11-30/decode_harness.c, F16=1 for f16 storage), BASE kernels (a checkout of the base commit) against the working tree's,
# in alternation. From the repository root: bash bench/results/decode-prefetch-pocl/harness.sh BASE_CHECKOUT ROUNDS
set -euo pipefail
base=$(cd "$1" && pwd) rounds=${2:-3} here=$(pwd)
gcc -O2 -o /tmp/dech16 bench/results/pocl-ab-2026-11-30/decode_harness.c -lOpenCL -lm
t() { "$@" | tail -1 | awk '{for (i = 1; i <= NF; i++) if ($i == "decode" || $i == "maxerr") printf "%s ", $(i + 1)}'; }
for r in $(seq 1 "$rounds"); do
    for which in base after; do
        d=$here; [ "$which" = base ] && d=$base
        cd "$d"
        echo "round $r $which | dense Sk=8k f32 $(t /tmp/dech16 kernels/opencl/sdpa_decode.cl 8192 2 -DDEC_BN=16)| f16 $(F16=1 t /tmp/dech16 kernels/opencl/sdpa_decode.cl 8192 2 -DDEC_BN=16)| dense Sk=32k f32 $(t /tmp/dech16 kernels/opencl/sdpa_decode.cl 32768 2 -DDEC_BN=16)| f16 $(F16=1 t /tmp/dech16 kernels/opencl/sdpa_decode.cl 32768 2 -DDEC_BN=16)| page 16, 8 kv heads per item, Sk=32k f16 $(F16=1 t /tmp/dech16 kernels/opencl/sdpa_decode.cl 32768 16 -DDEC_BN=16 16 8)"
        cd "$here"
    done
done
