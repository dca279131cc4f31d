#!/usr/bin/env bash
# Two variants of the decode kernel in alternation, N pairs, one process per run (the standalone host
# ../pocl-ab-2026-11-30/decode_harness.c, best of ITERS-2 kernel times per run; ALIAS, ONEPAGE, F16 pass through):
#   bash bench/results/decode-compute-pocl/pairs.sh N A.cl B.cl "OPTS_A" "OPTS_B" SK SPLITS [PAGE HKB]
# A.cl and B.cl may be the same file with other build options. Prints each variant's best and median and
# the median of the per-pair ratios B/A (below 1: B is faster), with how many pairs B won. On this host one
# run's time moves by 10-30%, so a difference under ~5% needs 20 or more pairs.
set -euo pipefail
n=$1 a=$2 b=$3 oa=$4 ob=$5; shift 5
gcc -O2 -o /tmp/dech bench/results/pocl-ab-2026-11-30/decode_harness.c -lOpenCL -lm
t() { ITERS=${ITERS:-12} /tmp/dech "$1" "$3" "$4" "$2" "${@:5}" | tail -1 | awk '{print $4}'; }
ra=() rb=()
for _ in $(seq 1 "$n"); do
    ra+=("$(t "$a" "$oa" "$@")")
    rb+=("$(t "$b" "$ob" "$@")")
done
python3 - "${ra[*]}" "${rb[*]}" <<'PY'
import statistics as st, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
r = [y / x for x, y in zip(a, b)]
print("A best %.3f median %.3f ms | B best %.3f median %.3f ms | B/A median %.3f, best/best %.3f, B faster in %d of %d"
      % (min(a), st.median(a), min(b), st.median(b), st.median(r), min(b) / min(a), sum(x < 1 for x in r), len(r)))
PY
