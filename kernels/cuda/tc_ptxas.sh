#!/usr/bin/env bash
# Compiles kernels/cuda/sdpa_tc.cu for every tensor-core target with -Xptxas -v and prints one line
# per kernel instance: arch, entry, registers, spill bytes, stack frame, shared memory.
# Usage: kernels/cuda/tc_ptxas.sh [outdir]   (the full ptxas log goes to outdir/ptxas-<arch>.log)
# Exit status 1 when a compile fails or when an SDPA instance for D = 64 or 128 spills.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-${TMPDIR:-/tmp}/attn4j-tc-ptxas}"
mkdir -p "$out"
nvcc_bin="${NVCC:-nvcc}"
status=0
printf '%-6s %-36s %5s %12s %12s %6s %7s\n' arch entry regs spill_st spill_ld stack smem
for arch in 80 86 89 90; do
  log="$out/ptxas-sm_$arch.log"
  start=$(date +%s.%N)
  if ! "$nvcc_bin" -std=c++17 -O3 -cubin -gencode "arch=compute_$arch,code=sm_$arch" -Xptxas -v \
       -o "$out/sdpa_tc.sm_$arch.cubin" "$here/sdpa_tc.cu" >"$log" 2>&1; then
    cat "$log" >&2; echo "compile failed for sm_$arch" >&2; exit 1
  fi
  end=$(date +%s.%N)
  echo "sm_$arch compile seconds: $(echo "$end - $start" | bc)" >>"$out/compile-times.txt"
  # ptxas prints "Compiling entry function 'X' for 'sm_NN'", then stack/spill and register lines.
  awk -v arch="sm_$arch" '
    /Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); fn = substr($0, RSTART+1, RLENGTH-2) }
    /bytes stack frame/ { split($0, a, /[ ,]+/); for (x in a) {}
        stack = $0; sub(/^.*ptxas info *: */, "", stack)
        match($0, /[0-9]+ bytes stack frame/); sf = substr($0, RSTART, RLENGTH); sub(/ bytes.*/, "", sf)
        match($0, /[0-9]+ bytes spill stores/); ss = substr($0, RSTART, RLENGTH); sub(/ bytes.*/, "", ss)
        match($0, /[0-9]+ bytes spill loads/); sl = substr($0, RSTART, RLENGTH); sub(/ bytes.*/, "", sl) }
    /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); r = substr($0, RSTART+5, RLENGTH-15)
        sm = "0"; if (match($0, /[0-9]+ bytes smem/)) { sm = substr($0, RSTART, RLENGTH); sub(/ bytes.*/, "", sm) }
        printf "%-6s %-36s %5s %12s %12s %6s %7s\n", arch, fn, r, ss, sl, sf, sm }
  ' "$log" | tee -a "$out/report.txt"
done
if awk '$2 ~ /_d(64|128)$/ && ($4 != 0 || $5 != 0) { bad = 1 } END { exit !bad }' "$out/report.txt"; then
  echo "SPILLS in a D=64/128 SDPA instance" >&2; status=1
fi
cat "$out/compile-times.txt"
exit $status
