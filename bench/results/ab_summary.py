"""Per op, dtype and point: the median over the rounds of each run's median ms and %copy, base vs after
(runs/<build>-<round>), and the median of the per-round after/base speed ratios."""
import collections
import csv
import os
import re
import statistics
import sys

runs = sys.argv[1]
ms = collections.defaultdict(dict)
frac = collections.defaultdict(list)
for name in sorted(os.listdir(runs)):
    build, rnd = name.rsplit("-", 1)
    for row in csv.DictReader(open(os.path.join(runs, name, "results.csv"))):
        if row["status"] != "ok":
            continue
        key = (row["op"], row["dtype"], row["shape"])
        ms[key][(build, rnd)] = float(row["ms_median"])
        frac[key + (build,)].append(float(row["frac_copy"] or 0))
print("| op | dtype | point | base ms | after ms | after / base speed (median of rounds) | base %copy | after %copy |")
print("|---|---|---|---:|---:|---:|---:|---:|")
def natural(shape):
    """Shape strings in numeric order (softmax:r=512:n=32768 after ...:n=128)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", shape)]


for key in sorted(ms, key=lambda k: (k[0], k[1], natural(k[2]))):
    m = ms[key]
    rounds = sorted({r for (_, r) in m})
    b = statistics.median(v for (w, _), v in m.items() if w == "base")
    a = statistics.median(v for (w, _), v in m.items() if w == "after")
    ratio = statistics.median(m[("base", r)] / m[("after", r)] for r in rounds if ("base", r) in m and ("after", r) in m)
    fb, fa = statistics.median(frac[key + ("base",)]), statistics.median(frac[key + ("after",)])
    print(f"| {key[0]} | {key[1]} | {key[2]} | {b:.2f} | {a:.2f} | {ratio:.2f}x | {100 * fb:.0f}% | {100 * fa:.0f}% |")
