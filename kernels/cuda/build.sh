#!/usr/bin/env bash
# build.sh: compiles every kernels/cuda/*.cu into <out>/<name>.fatbin (SASS for sm_75, sm_80,
# sm_86, sm_89 and sm_90, plus PTX for the highest of them, compute_90), with -Xptxas -v, for
# embedding in the jar.
#
#   kernels/cuda/build.sh OUT_DIR [LOG_DIR]  (java/cuda/pom.xml calls it in generate-resources)
#
# - ATTN_CUDA_ARCHS narrows the architectures: a comma- or space-separated list such as
#   "sm_90" or "sm_80,sm_90" (java/cuda/pom.xml passes -Dattn4j.cuda.archs=..., default
#   sm_75,sm_80,sm_86,sm_89,sm_90). PTX is kept for the highest listed architecture.
# - No nvcc on the PATH: prints a warning and exits 0 (the jar then carries only the sources,
#   and the runtime compiles them with NVRTC).
# - A compile error fails the build (exit 1) and prints nvcc's output.
# - Register spills of the SDPA kernels (entries attn_sdpa_*) are summarised one line per kernel
#   and architecture; the full ptxas report is kept in LOG_DIR/<name>.ptxas.log (default OUT_DIR).
# - A fatbin newer than its .cu, every .cuh here, attn_params.h and this script, and built for the
#   same architectures (LOG_DIR/<name>.gencode records them), is not rebuilt.
# - Files compile in parallel (ATTN_NVCC_JOBS, default: the number of cores), each with
#   nvcc --threads (ATTN_NVCC_THREADS, default 1) across its architectures.
# - A .cu may narrow its targets with a line "// attn4j-build: archs=80 86 89 90 ptx=90" (e.g.
#   tensor-core kernels that need sm_80); "archs=... 90a" adds sm_90a SASS. Only architectures
#   that are also in ATTN_CUDA_ARCHS are built (90a goes with 90); a file left with none is not
#   built (the runtime compiles it with NVRTC). <out>/fatbin-targets.txt lists what was built.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUT_DIR [LOG_DIR]}"
logs="${2:-$out}"
NVCC="${NVCC:-nvcc}"
if ! command -v "$NVCC" >/dev/null 2>&1; then
  echo "[attn4j kernels] WARNING: nvcc not found on the PATH: no fatbins are embedded; the CUDA backend will compile the kernel sources with NVRTC at run time (needs libnvrtc.so.12)." >&2
  exit 0
fi
mkdir -p "$out" "$logs"
jobs_max="${ATTN_NVCC_JOBS:-$(nproc 2>/dev/null || echo 2)}"
threads="${ATTN_NVCC_THREADS:-1}"
deps=("$here"/*.cuh "$here/../attn_params.h" "$here/build.sh")

# The requested architectures, as numbers ("90", "90a"), from ATTN_CUDA_ARCHS.
requested=()
IFS=', ' read -r -a _req <<<"${ATTN_CUDA_ARCHS:-sm_75,sm_80,sm_86,sm_89,sm_90}"
for a in "${_req[@]}"; do
  [[ -z "$a" ]] && continue
  n="${a#sm_}"; n="${n#compute_}"
  if [[ ! "$n" =~ ^[0-9]+a?$ ]]; then
    echo "[attn4j kernels] ERROR: attn4j.cuda.archs: expected a comma-separated list like sm_80,sm_90, got '$ATTN_CUDA_ARCHS'" >&2
    exit 2
  fi
  requested+=("$n")
done
(( ${#requested[@]} > 0 )) || { echo "[attn4j kernels] ERROR: attn4j.cuda.archs is empty" >&2; exit 2; }

wanted() { # $1 = an arch of a file ("86", "90a"): built when it was requested (90 and 90a go together)
  local r
  for r in "${requested[@]}"; do
    [[ "${r%a}" == "${1%a}" ]] && return 0
  done
  return 1
}

archs_for() { # $1 = .cu file: its own list (or the requested one), less what was not requested
  local archs="${requested[*]}" line a out=""
  line="$(grep -m1 -E '^// attn4j-build:' "$1" || true)"
  [[ "$line" =~ archs=([0-9a ]+) ]] && archs="${BASH_REMATCH[1]}"
  for a in $archs; do wanted "$a" && out+=" $a"; done
  echo "${out# }"
}

gencode_for() { # $1 = the architectures: SASS for each, PTX for the highest (its base for "90a")
  local g="" a ptx=0
  for a in $1; do
    g+=" -gencode=arch=compute_${a},code=sm_${a}"
    (( ${a%a} > ptx )) && ptx=${a%a}
  done
  g+=" -gencode=arch=compute_${ptx},code=compute_${ptx}"
  echo "${g# }"
}

stale() { # $1 = .cu, $2 = fatbin, $3 = gencode
  [[ -f "$2" ]] || return 0
  [[ "$(cat "$logs/$(basename "$1" .cu).gencode" 2>/dev/null)" == "$3" ]] || return 0
  local d
  for d in "$1" "${deps[@]}"; do
    [[ -e "$d" && "$d" -nt "$2" ]] && return 0
  done
  return 1
}

compile() { # $1 = .cu, $2 = gencode
  local src="$1" gencode="$2" name fat log t0 t1
  name="$(basename "$src" .cu)"
  fat="$out/$name.fatbin"
  log="$logs/$name.ptxas.log"
  t0=$(date +%s)
  # shellcheck disable=SC2046
  if ! "$NVCC" -std=c++17 -O3 -fatbin -Xptxas -v --threads "$threads" $gencode \
        -I"$here" -o "$fat.tmp" "$src" >"$log" 2>&1; then
    cat "$log" >&2
    echo "[attn4j kernels] ERROR: nvcc failed on $src" >&2
    rm -f "$fat.tmp"
    return 1
  fi
  mv "$fat.tmp" "$fat"
  echo "$gencode" >"$logs/$name.gencode"
  t1=$(date +%s)
  echo "[attn4j kernels] built $name.fatbin in $((t1 - t0)) s"
}

status=0
pids=()
names=()
t_start=$(date +%s)
targets=()
for src in "$here"/*.cu; do
  name="$(basename "$src" .cu)"
  archs="$(archs_for "$src")"
  if [[ -z "$archs" ]]; then
    echo "[attn4j kernels] $name: none of its architectures is in attn4j.cuda.archs (${requested[*]}): no fatbin (NVRTC at run time)"
    rm -f "$out/$name.fatbin" "$logs/$name.gencode" "$logs/$name.ptxas.log"
    continue
  fi
  gencode="$(gencode_for "$archs")"
  targets+=("$name: sm_${archs// /, sm_} + compute_$(grep -o 'compute_[0-9]*$' <<<"$gencode" | cut -d_ -f2) PTX")
  if ! stale "$src" "$out/$name.fatbin" "$gencode"; then
    echo "[attn4j kernels] $name.fatbin is up to date"
    continue
  fi
  while (( $(jobs -rp | wc -l) >= jobs_max )); do sleep 0.2; done
  compile "$src" "$gencode" &
  pids+=($!)
  names+=("$name")
done
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then status=1; fi
done
(( ${#pids[@]} > 0 )) && echo "[attn4j kernels] ${#pids[@]} kernel file(s) compiled in $(( $(date +%s) - t_start )) s"
(( status == 0 )) || exit 1
printf '%s\n' "${targets[@]}" >"$out/fatbin-targets.txt"

# Register and spill summary of the SDPA kernels (every sdpa*.cu report).
for log in "$logs"/sdpa*.ptxas.log; do
  [[ -f "$log" ]] || continue
  awk '
    /Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); fn = substr($0, RSTART + 1, RLENGTH - 2);
                                 match($0, /for '"'"'[^'"'"']+'"'"'/); arch = substr($0, RSTART + 5, RLENGTH - 6) }
    /spill stores/ { split($0, a, " "); st = a[5]; ld = a[9] }
    /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); regs = substr($0, RSTART + 5, RLENGTH - 15);
      if (fn ~ /^attn_sdpa/) {
        tag = (st + 0 > 0 || ld + 0 > 0) ? "SPILLS" : "ok";
        printf "[attn4j kernels] ptxas %-6s %-30s %3d registers, %s B spill stores, %s B spill loads  %s\n", arch, fn, regs, st, ld, tag
      } }' "$log"
done
exit 0
