#!/usr/bin/env bash
# GPU build of the SDPA tensor-core test (same cases as the emulation) and, with --bench, timings
# of the issue's shapes. Needs nvcc and a GPU of compute capability >= 8.0 (ARCH, default 90).
# Usage: kernels/cuda/emu/run_gpu_test.sh [--bench | case-name-substring]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-${TMPDIR:-/tmp}}/attn4j-tc-gpu"
arch="${ARCH:-90}"
mkdir -p "$out"
nvcc -std=c++17 -O3 -x cu -gencode "arch=compute_$arch,code=sm_$arch" -Xptxas -v -I"$here/.." \
    -o "$out/sdpa_tc_gpu_test" "$here/sdpa_tc_emu_test.cpp" >"$out/ptxas.log" 2>&1 || { cat "$out/ptxas.log"; exit 1; }
"$out/sdpa_tc_gpu_test" "$@"
