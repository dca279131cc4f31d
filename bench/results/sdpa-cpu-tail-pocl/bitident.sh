#!/usr/bin/env bash
# Forward and backward outputs of two CLI jars on the same inputs, compared byte for byte:
#   bash bench/results/sdpa-cpu-tail-pocl/bitident.sh OLD.jar NEW.jar   (from the repository root; writes /tmp/bi)
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2")
mkdir -p /tmp/bi && cd /tmp/bi
python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(7)
for S in (512, 113, 1000, 1024):
    for n in ('q', 'k', 'v', 'do'):
        np.save(f'{n}{S}.npy', rng.uniform(-1, 1, (1, 4, S, 64)).astype(np.float32))
S = 512
k = np.load('k512.npy'); k[0, 1, S - 1, 3] = np.nan; np.save('kn512.npy', k)
v = np.load('v512.npy'); v[0, 2, S - 1, 5] = np.inf; np.save('vn512.npy', v)
d = np.load('do512.npy'); d[0, 3, 100, 7] = np.inf; np.save('don512.npy', d)
PY
outs() {
    local J=$1 T=$2; rm -rf "$T"; mkdir -p "$T"
    r() { java -jar "$J" run "$@" > /dev/null; }
    for S in 512 113 1000 1024; do
        r sdpa --backend opencl --q q$S.npy --k k$S.npy --v v$S.npy --out $T/o$S.npy --lse $T/l$S.npy
        r sdpa-backward --backend opencl --q q$S.npy --k k$S.npy --v v$S.npy --dout do$S.npy --dq $T/dq$S.npy \
            --dk $T/dk$S.npy --dv $T/dv$S.npy
        r sdpa-backward --backend opencl --q q$S.npy --k k$S.npy --v v$S.npy --dout do$S.npy --dq $T/cdq$S.npy \
            --dk $T/cdk$S.npy --dv $T/cdv$S.npy --causal --align bottom-right
        if [ $S -ge 300 ]; then
            r sdpa-backward --backend opencl --q q$S.npy --k k$S.npy --v v$S.npy --dout do$S.npy --dq $T/wdq$S.npy \
                --dk $T/wdk$S.npy --dv $T/wdv$S.npy --kv-lengths 300 --out $T/wo$S.npy
        fi
    done
    r sdpa --backend opencl --q q512.npy --k kn512.npy --v vn512.npy --out $T/on.npy
    r sdpa-backward --backend opencl --q q512.npy --k kn512.npy --v vn512.npy --dout don512.npy --dq $T/ndq.npy \
        --dk $T/ndk.npy --dv $T/ndv.npy
}
outs "$old" old
outs "$new" new
n=0 d=0
for f in old/*.npy; do
    n=$((n + 1))
    cmp -s "$f" "new/$(basename "$f")" || { echo "DIFF $(basename "$f")"; d=$((d + 1)); }
done
echo "$n files, $d differ"
