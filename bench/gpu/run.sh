#!/usr/bin/env bash
# The GPU check of attn4j: ONE call of the device tool, done within 8 minutes, safe to cut short.
#
# Here, first:   ../shared/tools/gpu-bundle.sh      (builds with -Dattn4j.cuda.archs=sm_90, packs .gpu/:
#                                                    a jlinked Java runtime and attn4j.jar)
#                bash bench/gpu/run.sh --prepare     (nvcc here: the tensor-core GPU test binary into
#                                                    .gpu/, so the GPU spends no time compiling it;
#                                                    prints the bundle size)
# Then, on the GPU machine, from the repo root, carrying .gpu, with a timeout_s of about 540:
#                bash bench/gpu/run.sh
# Without nvidia-smi (or with --dry-run) every CUDA step reports "no device" and the script ends in
# seconds: that is how it is checked on a machine without a GPU.
#
# Steps, in priority order; each has its own timeout (and all of them one deadline, BUDGET_S), and
# each appends its line to $OUT/summary.txt as it finishes, so a cut-short call still tells what ran:
#   1 facts        nvidia-smi (GPU, driver, CUDA version, clocks, power), nvcc, `attn4j devices`
#   2 verify-fused verify --backend cuda: the whole case matrix, fused kernels, against float64
#                  (forward and backward cases)
#   2a train       the training points against PyTorch in the same run (issue 11): torch_sdpa.py, then
#                  attn4j bench --peer-csv, on the flash-bwd and additive-bwd sets (forward and backward
#                  side by side), f16 and f32; the ratio and forward + backward rows go into summary.txt,
#                  the CSVs into speed.tgz (train/)
#   2b decode      attn4j bench on serve-set decode points (Sk >= 4k; dense, pages of 16 and 256, varlen,
#                  GQA 32/8, 64/8, MHA), f16 and f32: GB/s and the fraction of the copy ceiling measured in
#                  the same run (the split-KV decode's bandwidth, issue 12); the rows go into summary.txt,
#                  the CSV into speed.tgz (decode/)
#   3 verify-tc    the tensor-core path (-Dattn4j.cuda.tc=true) on its f16/bf16 cases;
#     tc-gpu-test  its own GPU test, kernels/cuda/emu/run_gpu_test.sh
#   4 memcheck     compute-sanitizer memcheck on a subset of the matrix
#   5 speed        bench/peers/torch_sdpa.py, then attn4j bench, on the flash set (the forward),
#                  f16 and f32, with a small --max-seconds; the CSVs and reports go into speed.tgz
# What comes back ($OUT, at most 8 files, one folder deep): summary.txt, facts.txt,
# verify-fused.txt, verify-tc.txt, tc-gpu-test.txt, memcheck.txt, speed.tgz. Commit what it
# measured under bench/results/ with the device, driver, date and this command.
set -uo pipefail

dry=0 prepare=0
case "${1:-}" in
  --dry-run) dry=1 ;;
  --prepare) prepare=1 ;;
  "") ;;
  *) echo "usage: bash bench/gpu/run.sh [--dry-run | --prepare]" >&2; exit 2 ;;
esac
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 || dry=1
TC_BIN=.gpu/sdpa_tc_gpu_test

OUT=${OUT:-/tmp/attn4j-gpu-run}
BUDGET_S=${BUDGET_S:-470}          # the whole script; the device call's own limit sits above it
SUBSET=${SUBSET:-'S[qk]=(7|17|113),'}
# Serve-set decode points (bench/ShapeSets.serve) whose f32 K/V stay under ~1 GiB, so that each takes seconds.
DECODE_SHAPES=${DECODE_SHAPES:-sdpa:b=1:h=32:hkv=8:sq=1:sk=16384:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=16384:d=128:page=16,\
sdpa:b=1:h=32:hkv=8:sq=1:sk=16384:d=128:page=256,sdpa:b=1:h=32:hkv=8:sq=1:sk=65536:d=128,\
sdpa:b=1:h=64:hkv=8:sq=1:sk=65536:d=128,sdpa:b=8:h=32:hkv=8:sq=1:sk=16384:d=128:varlen,\
sdpa:b=8:h=32:hkv=8:sq=1:sk=16384:d=128:page=16:varlen,sdpa:b=8:h=32:hkv=32:sq=1:sk=4096:d=128:varlen}
TC_CASES=${TC_CASES:-'type=b?f16,.*,D=(64|96|128|256),'}
MAX_LOG=$((15 << 20))              # each file that comes back stays under 16 MiB
mkdir -p "$OUT"
S="$OUT/summary.txt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t_start=$SECONDS
failed=0

say() { echo "$*" | tee -a "$S"; }

# The bundle that travels: .gpu plus the tracked tree (the device tool's limit is 64 MiB; ours 48).
bundle_size() {
  local gpu=0 tree
  [[ -d .gpu ]] && gpu=$(du -sb .gpu | cut -f1)
  tree=$(git ls-files -z 2>/dev/null | xargs -0 -r du -cb 2>/dev/null | tail -n1 | cut -f1)
  awk -v g="$gpu" -v t="${tree:-0}" 'BEGIN { printf "bundle: .gpu %.1f MiB + tree %.1f MiB = %.1f MiB (must stay under 48 MiB)\n", g / 1048576, t / 1048576, (g + t) / 1048576 }'
}

if ((prepare)); then
  [[ -d .gpu ]] || { echo "run.sh --prepare: no .gpu/: run ../shared/tools/gpu-bundle.sh first" >&2; exit 2; }
  tmp=$(mktemp -d)
  # run_gpu_test.sh builds, then runs the test, which fails here without a GPU; the binary is what counts.
  OUT=$tmp bash kernels/cuda/emu/run_gpu_test.sh >"$tmp/log" 2>&1
  if [[ -x $tmp/attn4j-tc-gpu/sdpa_tc_gpu_test ]]; then
    cp "$tmp/attn4j-tc-gpu/sdpa_tc_gpu_test" "$TC_BIN" && echo "prepared $TC_BIN ($(du -h "$TC_BIN" | cut -f1))"
  else
    cat "$tmp/log" >&2; echo "run.sh --prepare: the tensor-core GPU test did not build" >&2
  fi
  rm -rf "$tmp"
  bundle_size
  exit 0
fi

cap() { # keeps a log under MAX_LOG: its head and tail
  local f=$1
  if [[ -f $f ]] && (( $(stat -c %s "$f") > MAX_LOG )); then
    { head -c $((MAX_LOG / 2)); echo; echo "[... cut to stay under 16 MiB ...]"; tail -c $((MAX_LOG / 2)); } <"$f" >"$f.cut"
    mv "$f.cut" "$f"
  fi
}

# step NAME LIMIT_S LOG COMMAND...: runs with min(LIMIT_S, what is left of BUDGET_S), appends to LOG
step() {
  local name=$1 limit=$2 log=$3; shift 3
  local left=$((BUDGET_S - (SECONDS - t_start))) t0=$SECONDS rc status own="$work/step-$name.log"
  (( limit > left )) && limit=$left
  if (( limit < 5 )); then
    printf '%-13s skipped: the %s s budget is spent\n' "$name" "$BUDGET_S" | tee -a "$S"
    echo "skipped: the $BUDGET_S s budget is spent" >>"$log"
    return
  fi
  timeout -k 5 "$limit" "$@" >"$own" 2>&1; rc=$?
  { echo "\$ $*"; cat "$own"; echo; } >>"$log"
  cap "$log"
  case $rc in
    0) status=ok ;;
    124|137) status="TIMEOUT after ${limit} s"; failed=1 ;;
    *) status="FAILED"; failed=1 ;;
  esac
  printf '%-13s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - t0))" "$status" | tee -a "$S"
  # The lines that say most: device rows, verify's totals, errors; else the last three lines.
  { grep -E '^(cuda|opencl|cpu) +[0-9-] |passed, [0-9]+ failed|^verify:|^error|ERROR SUMMARY|^wrote ' "$own" \
      || grep -v '^\s*$' "$own"; } | tail -n 4 | cut -c1-240 | sed 's/^/    /' | tee -a "$S"
}

no_device() { # NAME LOG: a CUDA step on a machine without a GPU
  echo "no device (dry run: no nvidia-smi, or --dry-run)" >"$2"
  printf '%-13s no device\n' "$1" | tee -a "$S"
}

: >"$S"
say "attn4j GPU check, $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$( ((dry)) && echo ', DRY RUN')"
say "$(bundle_size)"

# Java: the bundle's runtime, else the JDK here (dry runs).
if [[ -f .gpu/rt.tgz ]]; then
  tar xzf .gpu/rt.tgz -C "$work" && J="$work/rt/bin/java"
else
  J=$(command -v java || echo java)
fi
JAR=.gpu/attn4j.jar
[[ -f $JAR ]] || JAR=bench/target/attn4j.jar
say "java: $J, jar: $JAR"

# 1. Device facts (the jar's `devices` runs in dry mode too: it shows why cuda is unavailable).
F="$OUT/facts.txt"
: >"$F"
if ((dry)); then
  echo "no device" >>"$F"
  printf '%-13s no device\n' nvidia-smi | tee -a "$S"
else
  step nvidia-smi 10 "$F" nvidia-smi --query-gpu=name,pci.bus_id,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,temperature.gpu,compute_mode --format=csv
  step cuda-version 5 "$F" bash -c 'nvidia-smi | grep -m1 "CUDA Version"; nvcc --version | tail -n 2'
fi
step devices 20 "$F" "$J" -jar "$JAR" devices

# 2. The fused path over the whole matrix.
if ((dry)); then no_device verify-fused "$OUT/verify-fused.txt"; else
  step verify-fused 150 "$OUT/verify-fused.txt" "$J" -jar "$JAR" verify --backend cuda
fi

sp="$work/speed"
mkdir -p "$sp"
have_torch=0
if ((!dry)) && python3 -c 'import torch; assert torch.cuda.is_available()' >/dev/null 2>&1; then have_torch=1; fi

# 2a. Training: the SDPA and additive backward against PyTorch's (autograd.grad through a kept forward, the
# backward alone as attn4j's backward point), forward points beside them for the forward + backward sums.
if ((dry)); then no_device train "$sp/train.log"; else
  tpeer=()
  if ((have_torch)); then
    step train-torch 40 "$sp/train-torch.log" python3 bench/peers/torch_sdpa.py --shapes flash-bwd,additive-bwd \
      --dtype f16,f32 --warmup 2 --iters 10 --max-seconds 3 --out "$sp/torch_train.csv"
    [[ -s $sp/torch_train.csv ]] && tpeer=(--peer-csv "$sp/torch_train.csv")
  else
    echo "skipped: no PyTorch with CUDA" >"$sp/train-torch.log"; say "train-torch   skipped: no PyTorch with CUDA"
  fi
  step train 60 "$sp/train.log" "$J" -jar "$JAR" bench --backend cuda --shapes flash-bwd,additive-bwd \
    --dtype f16,f32 --warmup 2 --warmup-max-ms 1000 --iters 10 --max-seconds 3 --no-progress "${tpeer[@]}" \
    --out "$sp/train"
  # the forward + backward rows and the peer ratios (their lines start with the shape key)
  grep -E '^(sdpa|additive)_bwd:' "$sp/train.log" | cut -c1-150 | sed 's/^/    /' | tee -a "$S"
fi

# 2b. Decode bandwidth (the split-KV decode of sdpa_decode.cu is what these points run on the SIMT path).
# --warmup-max-ms 1000: the bench's wait for an idle JIT compiler bounded, so that each step keeps its time limit
if ((dry)); then no_device decode "$sp/decode.log"; else
  step decode 45 "$sp/decode.log" "$J" -jar "$JAR" bench --backend cuda --shapes "$DECODE_SHAPES" --dtype f16,f32 \
    --warmup 2 --warmup-max-ms 1000 --iters 10 --max-seconds 3 --no-progress --out "$sp/decode"
  grep -E '^attn4j-cuda' "$sp/decode.log" | cut -c1-150 | sed 's/^/    /' | tee -a "$S"
fi

# 3. The tensor-core path: verify on its cases, then its own GPU test (needs nvcc there).
if ((dry)); then
  no_device verify-tc "$OUT/verify-tc.txt"
  no_device tc-gpu-test "$OUT/tc-gpu-test.txt"
else
  step verify-tc 50 "$OUT/verify-tc.txt" "$J" -Dattn4j.cuda.tc=true -jar "$JAR" verify --backend cuda --op sdpa \
    --filter "$TC_CASES"
  if [[ -x $TC_BIN ]]; then   # built here by --prepare
    step tc-gpu-test 40 "$OUT/tc-gpu-test.txt" "$TC_BIN"
  elif command -v nvcc >/dev/null 2>&1; then
    step tc-gpu-test 40 "$OUT/tc-gpu-test.txt" env OUT="$work" bash kernels/cuda/emu/run_gpu_test.sh
  else
    echo "skipped: no nvcc and no $TC_BIN" >"$OUT/tc-gpu-test.txt"; say "tc-gpu-test   skipped: no nvcc, no $TC_BIN"
  fi
fi

# 4. compute-sanitizer memcheck on a subset (slow under the sanitizer).
if ((dry)); then no_device memcheck "$OUT/memcheck.txt"
elif command -v compute-sanitizer >/dev/null 2>&1; then
  step memcheck 45 "$OUT/memcheck.txt" compute-sanitizer --tool memcheck --target-processes all \
    "$J" -jar "$JAR" verify --backend cuda --filter "$SUBSET"
else
  echo "skipped: no compute-sanitizer" >"$OUT/memcheck.txt"; say "memcheck      skipped: no compute-sanitizer on the PATH"
fi

# 5. A short speed pass: the PyTorch peer, then attn4j on the same shapes, merged.
if ((dry)); then no_device torch-peer "$sp/torch.log"; no_device bench "$sp/bench.log"
else
  peer=()
  if ((have_torch)); then
    step torch-peer 40 "$sp/torch.log" python3 bench/peers/torch_sdpa.py --shapes flash --dtype f16,f32 \
      --warmup 2 --iters 10 --max-seconds 3 --out "$sp/torch_sdpa.csv"
    [[ -s $sp/torch_sdpa.csv ]] && peer=(--peer-csv "$sp/torch_sdpa.csv")
  else
    echo "skipped: no PyTorch with CUDA" >"$sp/torch.log"; say "torch-peer    skipped: no PyTorch with CUDA"
  fi
  step bench 65 "$sp/bench.log" "$J" -jar "$JAR" bench --backend cuda --shapes flash --dtype f16,f32 \
    --warmup 2 --warmup-max-ms 1000 --iters 10 --max-seconds 3 --no-progress "${peer[@]}" --out "$sp/bench"
fi
tar czf "$OUT/speed.tgz" -C "$work" speed

say "total $((SECONDS - t_start)) s of a ${BUDGET_S} s budget; files in $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
exit $failed
