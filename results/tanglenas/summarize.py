"""The TangleNAS experiment's searches, from their run folders (experiment.sh's RUNS): per method the steps and
seconds of training and of selection, the chosen architecture and its held-out loss with the supernet's weights
(selection.json), ENAS's hidden-state analysis, and the anytime curve — the held-out loss of the argmax
architecture at each evaluation against training minutes (metrics.jsonl: an `eval_argmax_loss` entry and the
`elapsed_s` of the training entry of the same step).
Usage: python3 summarize.py RUNS OUT_FOLDER  (writes searches.md and anytime.csv there)"""
import json, os, sys

runs, out = sys.argv[1], sys.argv[2]
methods = ["drnas", "darts", "gdas", "spos-rs", "spos-re", "enas", "enas-buffer"]


def arch_text(path):
    a = json.load(open(path))
    layers = a["layers"]
    return f"{len(layers)}×{a['hidden']}, heads {'/'.join(str(l['heads']) for l in layers)}, FFN {'/'.join(str(l['ffn']) for l in layers)}"


lines = ["| method | selection | steps | training min | selection min | chosen | params | held-out loss (supernet weights) |",
         "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: |"]
curve = ["method,step,training_minutes,argmax_params,argmax_loss"]
analysis = []
for m in methods:
    folder = os.path.join(runs, m)
    sel_path = os.path.join(folder, "selection.json")
    if not os.path.exists(sel_path):
        lines.append(f"| {m} | not run yet | | | | | | |")
        continue
    s = json.load(open(sel_path))
    select = {"spos-rs": f"random search ({len(s['candidates'])})", "spos-re": f"evolution ({len(s['candidates'])})",
              "enas": "derived", "enas-buffer": "derived"}.get(m, "DARTS-PT" if s["select"] == "pt" else s["select"])
    lines.append(f"| {m} | {select} | {s['steps']} | {s['trainingSeconds'] / 60:.1f} | {s['selectionSeconds'] / 60:.1f} | "
                 f"{arch_text(os.path.join(folder, 'architecture.json'))} | {s['params'] / 1e6:.2f}M | {s['heldOutLoss']:.4f} |")
    argmax = os.path.join(folder, "argmax-architecture.json")
    if os.path.exists(argmax):
        lines.append(f"| {m} | argmax (same run) | | | | {arch_text(argmax)} | | |")
    for key in ("hiddenStateVsEditDistance", "hiddenStateVsEditDistanceAtInit"):
        if key in s:
            analysis.append(f"{m} {key}: Spearman {s[key]['spearman']:+.3f}, Kendall {s[key]['kendall']:+.3f} over {s[key]['pairs']} pairs")
    elapsed = {}
    for line in open(os.path.join(folder, "metrics.jsonl")):
        e = json.loads(line)
        if "elapsed_s" in e: elapsed[e["step"]] = e["elapsed_s"]
        if e.get("eval_argmax_loss") is not None:
            t = elapsed.get(e["step"])
            curve.append(f"{m},{e['step']},{'' if t is None else f'{t / 60:.2f}'},{e['eval_argmax_params']:.0f},{e['eval_argmax_loss']:.4f}")
open(os.path.join(out, "searches.md"), "w").write("\n".join(lines + [""] + analysis) + "\n")
open(os.path.join(out, "anytime.csv"), "w").write("\n".join(curve) + "\n")
sys.stdout.write("\n".join(lines + [""] + analysis) + "\n")
