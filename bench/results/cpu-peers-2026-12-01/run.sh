#!/usr/bin/env bash
# One `bench --backend opencl --peers djl` run of issue 11's and 12's peer targets, with the bench's JIT-quiet
# warm-up (main at a6b810c or later). From the repository root:
#   bash bench/results/cpu-peers-2026-12-01/run.sh OUT_NAME [extra bench flags]
set -euo pipefail
out=bench/results/cpu-peers-2026-12-01/${1:?name}; shift || true
mvn -o -B -q install -DskipTests -Dattn4j.skipKernels=true -pl java,java/cuda
mvn -o -B -q -Ppeers -Djavacpp.platform=linux-x86_64 -pl bench compile
mvn -o -B -q -Ppeers -Djavacpp.platform=linux-x86_64 -pl bench dependency:build-classpath -Dmdep.outputFile=/tmp/peers-cp.txt
S=
for s in 512 1024 2048; do S=$S${S:+,}sdpa:b=1:h=8:s=$s:d=64,sdpa_bwd:b=1:h=8:s=$s:d=64; done
S=$S,sdpa:b=1:h=32:hkv=8:sq=1:sk=8192:d=128,sdpa:b=1:h=32:hkv=8:sq=1:sk=16384:d=128,softmax,softmax-bwd
git rev-parse HEAD > /tmp/peers-rev.txt
java -cp bench/target/peers/classes:$(cat /tmp/peers-cp.txt) io.github.attn4j.cli.Main bench \
    --backend opencl --peers djl --warmup 3 --iters 15 --max-seconds 60 --shapes "$S" --no-progress --out "$out" "$@" \
    2>&1 | grep -v '^SLF4J' | tee "$out.console.txt"
mv "$out.console.txt" "$out/console.txt"
python3 bench/results/cpu-peers-2026-11-30/ratios.py "$out/results.csv" > "$out/ratios.md"
