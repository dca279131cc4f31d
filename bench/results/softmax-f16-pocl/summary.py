"""Per point and dtype: the median over the rounds of each run's median ms and %copy, base vs after (runs/<build>-<round>)."""
import collections
import csv
import os
import statistics
import sys

runs = sys.argv[1]
ms = collections.defaultdict(list)
frac = collections.defaultdict(list)
for name in sorted(os.listdir(runs)):
    build = name.rsplit("-", 1)[0]
    for row in csv.DictReader(open(os.path.join(runs, name, "results.csv"))):
        key = (row["dtype"], row["shape"], build)
        ms[key].append(float(row["ms_median"]))
        frac[key].append(float(row["frac_copy"] or 0))
print("| dtype | point | base ms | after ms | after / base speed | base %copy | after %copy |")
print("|---|---|---:|---:|---:|---:|---:|")
for dtype, shape in sorted({(k[0], k[1]) for k in ms}, key=lambda k: (k[0], int(k[1].split("n=")[1]))):
    b, a = statistics.median(ms[(dtype, shape, "base")]), statistics.median(ms[(dtype, shape, "after")])
    fb, fa = statistics.median(frac[(dtype, shape, "base")]), statistics.median(frac[(dtype, shape, "after")])
    print(f"| {dtype} | {shape} | {b:.2f} | {a:.2f} | {b / a:.2f}x | {100 * fb:.0f}% | {100 * fa:.0f}% |")
