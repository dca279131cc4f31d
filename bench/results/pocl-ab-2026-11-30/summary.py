"""Per point and build: the median over rounds of each run's median ms and %copy (runs/<build>-<round>/results.csv)."""
import csv, glob, os, statistics, sys
from collections import defaultdict

runs = sys.argv[1]
ms, frac = defaultdict(list), defaultdict(list)
order = []
for f in sorted(glob.glob(os.path.join(runs, "*", "results.csv"))):
    build = os.path.basename(os.path.dirname(f)).rsplit("-", 1)[0]
    for row in csv.DictReader(open(f)):
        if row["status"] != "ok" or not row["impl"].startswith("attn4j"):
            continue
        key = row["shape"]
        if key not in order:
            order.append(key)
        ms[(key, build)].append(float(row["ms_median"]))
        if row["frac_copy"]:
            frac[(key, build)].append(float(row["frac_copy"]))
print("| point | base ms | after ms | after / base speed-up | base %copy | after %copy | rounds |")
print("|---|---:|---:|---:|---:|---:|---:|")
for k in order:
    b, a = ms.get((k, "base"), []), ms.get((k, "after"), [])
    if not b or not a:
        continue
    mb, ma = statistics.median(b), statistics.median(a)
    fb = statistics.median(frac[(k, "base")]) * 100 if frac[(k, "base")] else float("nan")
    fa = statistics.median(frac[(k, "after")]) * 100 if frac[(k, "after")] else float("nan")
    print(f"| `{k}` | {mb:.2f} | {ma:.2f} | {mb / ma:.2f}x | {fb:.1f}% | {fa:.1f}% | {len(b)}, {len(a)} |")
