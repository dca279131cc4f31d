#!/usr/bin/env bash
# The whole GPU check in one call of the device tool (an H100/H200 with CUDA 13, no Java, no network).
#
# Here, first:   ../shared/tools/gpu-bundle.sh          (builds and packs .gpu/: a Java runtime + the jars)
# Then, on the GPU machine, from the repo root, carrying .gpu, in calls of at most 10 minutes:
#                bash bench/gpu/run.sh correctness       (devices, verify x3, tensor-core GPU test)
#                bash bench/gpu/run.sh sanitizers        (memcheck, racecheck on a subset)
#                bash bench/gpu/run.sh speed             (PyTorch peer, attn4j bench, tensor-core bench)
#                (each writes $OUT/summary.txt and $OUT/gpu-run.tgz; name single steps to rerun them)
# Steps: device facts; verify over the whole matrix on the fused, unfused and tensor-core paths;
# the tensor-core kernel's own GPU test; compute-sanitizer memcheck and racecheck on a subset;
# the PyTorch peer and attn4j bench on the same shapes. Each step's log and exit code go into the
# tarball; the summary lists every step's exit code and last lines. Commit what it measured under
# bench/results/ with the device, driver, date and this command.
set -uo pipefail
OUT=${OUT:-/tmp/attn4j-gpu-run}
work=$(mktemp -d)
mkdir -p "$OUT"
tar xzf .gpu/rt.tgz -C /tmp
J=/tmp/rt/bin/java
JAR=.gpu/attn4j.jar
SUBSET=${SUBSET:-'S[qk]=(7|17|113),'}   # sanitizers run slowly: a subset of the matrix

step() {  # step NAME TIMEOUT_S COMMAND...
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS rc
  timeout "$limit" "$@" >"$work/$name.log" 2>&1; rc=$?
  printf '%-16s rc=%-3s %4ss  %s\n' "$name" "$rc" "$((SECONDS - t0))" "$*" | tee -a "$work/summary.txt"
  tail -n 4 "$work/$name.log" | sed 's/^/    /' >>"$work/summary.txt"
}

{ date -u; nvidia-smi; nvcc --version; } >"$work/env.txt" 2>&1
run_step() {
  case $1 in
    devices)        step devices 60 "$J" -jar "$JAR" devices ;;
    verify-fused)   step verify-fused 240 "$J" -jar "$JAR" verify --backend cuda ;;
    verify-unfused) step verify-unfused 120 "$J" -Dattn4j.cuda.sdpa=unfused -jar "$JAR" verify --backend cuda --op sdpa ;;
    verify-tc)      step verify-tc 120 "$J" -Dattn4j.cuda.tc=true -jar "$JAR" verify --backend cuda --op sdpa ;;
    tc-gpu-test)    step tc-gpu-test 120 bash kernels/cuda/emu/run_gpu_test.sh ;;
    memcheck)       step memcheck 270 compute-sanitizer --tool memcheck --target-processes all "$J" -jar "$JAR" verify --backend cuda --filter "$SUBSET" ;;
    racecheck)      step racecheck 270 compute-sanitizer --tool racecheck --target-processes all "$J" -jar "$JAR" verify --backend cuda --filter "$SUBSET" ;;
    torch-peer)     step torch-peer 180 python3 bench/peers/torch_sdpa.py --shapes standard --dtype f16,bf16,f32 --out "$work/torch_sdpa.csv" ;;
    bench)          step bench 300 "$J" -jar "$JAR" bench --backend cuda --dtype f32,f16,bf16 --max-seconds 20 --peer-csv "$work/torch_sdpa.csv" --out "$work/bench" ;;
    tc-bench)       step tc-bench 60 bash kernels/cuda/emu/run_gpu_test.sh --bench ;;
    correctness)    for s in devices verify-fused verify-unfused verify-tc tc-gpu-test; do run_step $s; done ;;
    sanitizers)     for s in memcheck racecheck; do run_step $s; done ;;
    speed)          for s in torch-peer bench tc-bench; do run_step $s; done ;;
    *) echo "run.sh: unknown step '$1' (correctness, sanitizers, speed, or one step name)" >&2; exit 2 ;;
  esac
}
[ $# -gt 0 ] || set -- correctness
for s in "$@"; do run_step "$s"; done

cp "$work/summary.txt" "$OUT/summary.txt"
tar czf "$OUT/gpu-run.tgz" -C "$work" .
cat "$OUT/summary.txt"
