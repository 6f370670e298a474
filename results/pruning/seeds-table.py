"""The table of seeds.sh: per kind and sparsity, magnitude pruning against the Lottery Jackpots search, with the
mean and standard error over the seeds found in results/pruning/seeds."""
import glob
import json
import os
import statistics
import sys

folder = sys.argv[1] if len(sys.argv) > 1 else "results/pruning/seeds"
groups = {}
for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
    name = os.path.basename(path)[:-5]
    r = json.load(open(path))
    key = ("structured" if r["structured"] else "unstructured", r["sparsity_target"])
    method = "magnitude" if r["search_steps"] == 0 else "jackpot"
    groups.setdefault(key, {}).setdefault(method, []).append((name, r))

print("| model | sparsity | magnitude | jackpot, per seed | jackpot mean ± SE | gain (points) | items changed (mean) |")
print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
for (kind, target), methods in sorted(groups.items()):
    mag = methods.get("magnitude", [])
    jack = methods.get("jackpot", [])
    accs = [100 * r["accuracy"] for _, r in jack]
    mean = statistics.mean(accs) if accs else float("nan")
    se = statistics.stdev(accs) / len(accs) ** 0.5 if len(accs) > 1 else float("nan")
    m = 100 * mag[0][1]["accuracy"] if mag else float("nan")
    changed = statistics.mean(r["changed_from_magnitude"] for _, r in jack) if jack else float("nan")
    seeds = ", ".join(f"{a:.2f}" for a in accs)
    print(f"| {kind} | {100 * target:.0f} % | {m:.2f} % | {seeds} | {mean:.2f} ± {se:.2f} % | {mean - m:+.2f} | {changed:.0f} |")
