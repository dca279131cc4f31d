#!/usr/bin/env python3
"""The README's ratio table from a `bench` results.csv: attn4j-opencl against the CPU peers, per point,
with the issue target each ratio addresses. Ratios are peer time / attn4j time (above 1: attn4j is
faster), from the medians and from the minimums of the timed runs. A peer point marked
"timed fwd+bwd" (an autograd step) is compared with attn4j's forward + backward points of the same
dims, as `Report.ratios` does. Usage: ratios.py results.csv"""
import csv
import sys

rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["status"] == "ok"]
by = {(r["impl"], r["shape"]): r for r in rows}
FWD = {"sdpa_bwd": "sdpa", "softmax_bwd": "softmax", "additive_bwd": "additive"}


def target(op, shape, peer):
    if op == "gemm":
        return ("#13 GEMM >= ND4J", 1.0) if peer == "nd4j" else (None, None)
    if peer != "djl-pytorch":
        return (None, None)
    if op == "sdpa_bwd":
        return ("#11 SDPA bwd >= 1.5x DJL autograd", 1.5)
    if op == "sdpa" and ":sq=1:" in shape:
        return ("#12 decode >= 1.5x DJL", 1.5)
    if op.startswith("softmax"):
        return ("#12 softmax %s >= 1.5x DJL" % ("bwd" if op == "softmax_bwd" else "fwd"), 1.5)
    return (None, None)


print("| point | peer | attn4j ms (median / min) | peer ms (median / min) | ratio median | ratio min | target | met (median) |")
print("|---|---|---:|---:|---:|---:|---|---|")
for (impl, shape), a in by.items():
    if impl != "attn4j-opencl":
        continue
    op = a["op"]
    for peer in ("nd4j", "djl-pytorch"):
        p = by.get((peer, shape))
        if p is None:
            continue
        am, an, label = float(a["ms_median"]), float(a["ms_min"]), shape
        if "timed fwd+bwd" in p["reason"] and op in FWD:
            f = by.get((impl, shape.replace(op, FWD[op], 1)))
            if f is None:
                continue
            am, an, label = am + float(f["ms_median"]), an + float(f["ms_min"]), shape + " fwd+bwd"
        pm, pn = float(p["ms_median"]), float(p["ms_min"])
        name, goal = target(op, shape, peer)
        met = "" if goal is None else ("met" if pm / am >= goal else "not met")
        print("| %s | %s | %.1f / %.1f | %.1f / %.1f | %.2f | %.2f | %s | %s |" % (
            label, peer, am, an, pm, pn, pm / am, pn / an, name or "-", met))
