#!/usr/bin/env bash
# How often a gradient search under `--max-params` ends inside the budget (issue 13, item 2): DARTS, DrNAS and
# GDAS on the `tanglenas-shakespeare` space under three parameter budgets and SEEDS, each for STEPS bilevel
# iterations (a fixed step count, small batches: the budget hinge's effect, not the language model, is measured),
# argmax selection. Writes budget.csv (method, budget, seed, chosen parameters, inside?) and prints the hit rate.
# Run from the repository root after experiment.sh (it reuses its train/valid split); runs resume.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/tanglenas}
STEPS=${STEPS:-100}
SEEDS=${SEEDS:-1 2}
JOBS=${JOBS:-2}      # runs side by side
OUT=results/tanglenas
DATA="--corpus $RUNS/train.txt --validation $RUNS/valid.txt --tokenizer char --sequence-length 64 --batch-size 4"
mkdir -p "$RUNS/budget"
jobs_at_most() { while [ "$(jobs -r | wc -l)" -ge "$1" ]; do sleep 5; done; }
for budget in 1.5e6 3e6 6e6; do
  for method in darts drnas gdas; do
    for seed in $SEEDS; do
      out="$RUNS/budget/$method-$budget-$seed"
      [ -f "$out/selection.json" ] && continue
      resume=""; [ -f "$out/latest" ] && resume="--resume"
      "$BIN" supernet search --space tanglenas-shakespeare $DATA --method "$method" --max-params "$budget" --seed "$seed" \
          --lr 1e-3 --schedule constant --warmup 10 --steps "$STEPS" --threads 1 --eval-every "$STEPS" --eval-windows 4 \
          --out "$out" $resume > "$out.log" 2>&1 &
      jobs_at_most "$JOBS"
    done
  done
done
wait
python3 - "$RUNS/budget" "$OUT/budget.csv" <<'PY'
import glob, json, os, sys
rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*", "selection.json"))):
    method, budget, seed = os.path.basename(os.path.dirname(path)).split("-")
    s = json.load(open(path))
    rows.append((method, float(budget), int(seed), s["params"], s["params"] <= float(budget)))
with open(sys.argv[2], "w") as f:
    f.write("method,budget,seed,params,inside\n")
    for r in rows: f.write(f"{r[0]},{r[1]:.0f},{r[2]},{r[3]},{int(r[4])}\n")
for m in sorted({r[0] for r in rows}):
    hits = [r[4] for r in rows if r[0] == m]
    print(f"{m}: {sum(hits)}/{len(hits)} inside the budget")
print(f"all: {sum(r[4] for r in rows)}/{len(rows)}")
PY
