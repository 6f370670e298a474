"""Kendall tau-b between inherited-weight and stand-alone validation losses, per band and overall, with a
bootstrap 90 % interval (2,000 resamples of the architectures, seeded), and the extremes of each band.
Usage: python3 kendall_bootstrap.py losses.csv  (columns: arch, params, standalone, standalone_steps, <rule>...)"""
import csv, random, sys


def tau_b(x, y):
    n = len(x)
    c = d = tx = ty = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            tx += dx == 0
            ty += dy == 0
            if dx and dy:
                if (dx > 0) == (dy > 0): c += 1
                else: d += 1
    n0 = n * (n - 1) // 2
    den = ((n0 - tx) * (n0 - ty)) ** 0.5
    return (c - d) / den if den else float("nan")


def interval(x, y, rng, draws=2000):
    values = []
    for _ in range(draws):
        idx = [rng.randrange(len(x)) for _ in x]
        t = tau_b([x[i] for i in idx], [y[i] for i in idx])
        if t == t: values.append(t)
    values.sort()
    return values[int(0.05 * len(values))], values[int(0.95 * len(values)) - 1]


rows = list(csv.DictReader(open(sys.argv[1])))
rules = [k for k in rows[0] if k not in ("arch", "params", "standalone", "standalone_steps")]
rng = random.Random(0)
print("rule        set      n   tau    90% bootstrap")
for rule in rules:
    for name, subset in (("band A", [r for r in rows if r["arch"][5] == "A"]), ("band B", [r for r in rows if r["arch"][5] == "B"]),
                         ("overall", rows)):
        x = [float(r["standalone"]) for r in subset]
        y = [float(r[rule]) for r in subset]
        lo, hi = interval(x, y, rng)
        print(f"{rule:11s} {name:8s} {len(subset):2d}  {tau_b(x, y):+.3f}  [{lo:+.3f}, {hi:+.3f}]")
print()
print("band  member    params   stand-alone  " + "  ".join(f"{r:>10s}" for r in rules))
for band in "AB":
    subset = sorted((r for r in rows if r["arch"][5] == band), key=lambda r: int(r["params"]))
    for label, r in (("smallest", subset[0]), ("largest", subset[-1])):
        print(f"{band}     {label:8s} {int(r['params']):>9d}   {float(r['standalone']):8.4f}     "
              + "  ".join(f"{float(r[k]):10.4f}" for k in rules))
