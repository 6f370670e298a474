"""Histogram of the sizes of the sub-networks a supernet trained (from its metrics.jsonl `params_<i>`, logged
every --log-every steps): the randomly drawn members only (uniform: member 0; sandwich and complexity:
members 2..), over 8 equal-width bins of the space's parameter range [smallest, largest] (taken from the
sandwich run, which trains both extremes every step).
Usage: python3 size_histogram.py uniform.jsonl sandwich.jsonl complexity.jsonl"""
import json, sys

runs = {}
for path in sys.argv[1:]:
    rows = [json.loads(l) for l in open(path) if '"params_0"' in l]
    runs[path] = rows
sandwich = next(rows for p, rows in runs.items() if "sandwich" in p)
largest, smallest = sandwich[0]["params_0"], sandwich[0]["params_1"]
edges = [smallest + (largest - smallest) * k / 8 for k in range(9)]
print(f"bins of {(largest - smallest) / 8 / 1e6:.3f}M parameters from {smallest / 1e6:.3f}M to {largest / 1e6:.3f}M")
print("run" + " " * 13 + "".join(f"  bin{k}" for k in range(8)) + "   draws")
for path, rows in runs.items():
    first = 0 if "uniform" in path else 2
    sizes = [r[f"params_{i}"] for r in rows for i in range(first, 8) if f"params_{i}" in r]
    counts = [0] * 8
    for s in sizes:
        counts[min(7, max(0, next((k for k in range(8) if s <= edges[k + 1]), 7)))] += 1
    name = path.split("/")[-2] if path.endswith("/metrics.jsonl") else path.split("/")[-1].replace("-metrics.jsonl", "")
    print(f"{name:16s}" + "".join(f"{100 * c / len(sizes):6.1f}%" for c in counts) + f"  {len(sizes):6d}")
