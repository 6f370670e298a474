"""The tables of augment.sh: per task the (N, M) grid on the held-out split, and on dev the teacher, KD alone and
KD + augmentation at the grid's best augmented point, mean ± standard error over the seeds found."""
import glob
import json
import os
import re
import statistics

root = os.path.dirname(os.path.abspath(__file__))
for task in ("sst-2", "rte", "mrpc"):
    folder = os.path.join(root, task)
    if not os.path.isfile(os.path.join(folder, "grid.json")):
        continue
    grid = json.load(open(os.path.join(folder, "grid.json")))
    metric = grid["metric"]
    print(f"## {task}: grid, held-out {metric} (last {grid['holdout']} training examples)\n")
    ms = sorted({p["magnitude"] for p in grid["points"] if p["count"] > 0})
    print("| N \\ M | " + " | ".join(str(m) for m in ms) + " |")
    print("| --- |" + " ---: |" * len(ms))
    base = [p for p in grid["points"] if p["count"] == 0]
    if base:
        print(f"| 0 (KD alone) | {100 * base[0]['mean']:.2f} |" + " |" * (len(ms) - 1))
    for n in sorted({p["count"] for p in grid["points"] if p["count"] > 0}):
        cells = []
        for m in ms:
            p = [q for q in grid["points"] if q["count"] == n and q["magnitude"] == m]
            cells.append(f"{100 * p[0]['mean']:.2f}" if p else "-")
        print(f"| {n} | " + " | ".join(cells) + " |")
    seconds = sum(r["seconds"] for r in grid["runs"])
    print(f"\n{len(grid['runs'])} runs, {seconds / 60:.0f} min of wall-clock in all.\n")

    def dev(pattern):
        values = []
        for path in sorted(glob.glob(os.path.join(folder, pattern))):
            values.append(100 * json.load(open(path))[metric])
        return values

    def cell(values):
        if not values:
            return "-"
        if len(values) == 1:
            return f"{values[0]:.2f} | {values[0]:.2f}"
        se = statistics.stdev(values) / len(values) ** 0.5
        return ", ".join(f"{v:.2f}" for v in values) + f" | {statistics.mean(values):.2f} ± {se:.2f}"

    teacher = dev("*-teacher.json")
    aug = sorted({re.sub(r".*-kd-aug([0-9,]+)-seed.*", r"\1", p) for p in glob.glob(os.path.join(folder, "*-kd-aug*-seed*.json"))})
    print(f"## {task}: dev {metric}\n")
    print("| model | per seed | mean ± SE |")
    print("| --- | --- | ---: |")
    print(f"| teacher (MiniLM-L6, seed 0) | {cell(teacher)} |")
    print(f"| student, KD alone | {cell(dev('*-kd-seed*.json'))} |")
    for a in aug:
        print(f"| student, KD + augment {a} | {cell(dev(f'*-kd-aug{a}-seed*.json'))} |")
    print()
