#!/usr/bin/env bash
# Builds and runs the host emulation test of kernels/cuda/sdpa_tc.cu (g++ only, no CUDA).
# Usage: kernels/cuda/emu/run_emu_test.sh [case-name-substring]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${TMPDIR:-/tmp}/attn4j-tc-emu"
mkdir -p "$out"
g++ -std=c++17 -O2 -Wall -Wno-unused-function -Wno-unknown-pragmas -Wno-deprecated-declarations -I"$here/.." \
    -o "$out/sdpa_tc_emu_test" "$here/sdpa_tc_emu_test.cpp"
"$out/sdpa_tc_emu_test" "$@"
