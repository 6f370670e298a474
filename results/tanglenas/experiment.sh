#!/usr/bin/env bash
# The TangleNAS experiment at CPU scale (issue 13, item 6): every method on the `tanglenas-shakespeare` space
# (layers 4–6, heads 2/4/6, embedding 96/192/384, MLP ratio 2/3/4), character-level Tiny Shakespeare, the same
# wall-clock budget per method (MINUTES, selection included: the gradient and SPOS searches train for
# MINUTES − PT_MINUTES, then DARTS-PT or the SPOS candidates' scoring runs; ENAS trains for MINUTES, its derivation
# is short), two methods side by side at one thread each; selection.json records each run's training and selection
# seconds. Every chosen architecture is then retrained from
# scratch for RETRAIN steps with one recipe and scored on the held-out tenth. Runs resume (run it again).
# Run from the repository root; BIN, RUNS and the budgets can be overridden.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/tanglenas}
MINUTES=${MINUTES:-20}
PT_MINUTES=${PT_MINUTES:-3}    # DARTS-PT: 14 decisions at --pt-steps 1 took 2.8 minutes at one thread (selection.json: the real time)
PT_STEPS=${PT_STEPS:-1}
TRIALS=${TRIALS:-200}
RETRAIN=${RETRAIN:-1000}
mkdir -p "$RUNS"
# The first 90 % of the text trains (the searches split it again into weights' and α's halves), the last 10 % scores.
python3 - "$RUNS" <<'PY'
import sys
text = open("../shared/data/tinyshakespeare/input.txt", encoding="utf-8").read()
cut = int(len(text) * 0.9)
open(f"{sys.argv[1]}/train.txt", "w", encoding="utf-8").write(text[:cut])
open(f"{sys.argv[1]}/valid.txt", "w", encoding="utf-8").write(text[cut:])
PY
DATA="--corpus $RUNS/train.txt --validation $RUNS/valid.txt --tokenizer char --sequence-length 256 --batch-size 8"
COMMON="$DATA --lr 1e-3 --schedule constant --warmup 100 --steps 1000000 --threads 1 --checkpoint-every 100 --eval-windows 16"

run() {  # name, minutes of training, extra options
  local name=$1 minutes=$2; shift 2
  [ -f "$RUNS/$name/architecture.json" ] && return 0
  local resume=""; [ -f "$RUNS/$name/latest" ] && resume="--resume"
  "$BIN" supernet search --space tanglenas-shakespeare $COMMON --time-budget "$minutes" --out "$RUNS/$name" \
      --study "$RUNS/study.db" $resume "$@" > "$RUNS/$name.log" 2>&1
}
jobs_at_most() { while [ "$(jobs -r | wc -l)" -ge "$1" ]; do sleep 5; done; }

TRAIN=$((MINUTES - PT_MINUTES))
for method in drnas darts gdas; do
  # --eval-every 10: the argmax architecture's held-out loss, the anytime curve (argmax-architecture.json: the argmax selection)
  run "$method" "$TRAIN" --method "$method" --select pt --pt-steps "$PT_STEPS" --eval-every 10 &
  jobs_at_most 2
done
for method in spos-rs spos-re; do run "$method" "$TRAIN" --method "$method" --trials "$TRIALS" --eval-every 100 & jobs_at_most 2; done
for method in enas enas-buffer; do run "$method" "$MINUTES" --method "$method" --eval-every 100 & jobs_at_most 2; done
wait

# Retrain every chosen architecture from scratch with one recipe, the smallest first (checkpoints every 100 steps:
# a retraining resumes where it stopped).
ARCHS=$(python3 - "$RUNS" <<'PY'
import glob, json, sys
def params(path):
    a = json.load(open(path)); h = a["hidden"]
    return sum(4 * h * l["qkv"] + 2 * h * l["ffn"] for l in a["layers"]) + a["vocabSize"] * h
paths = glob.glob(f"{sys.argv[1]}/*/architecture.json") + glob.glob(f"{sys.argv[1]}/*/argmax-architecture.json")
print(" ".join(sorted(paths, key=params)))
PY
)
for arch in $ARCHS; do
  name=$(basename "$(dirname "$arch")")$([ "$(basename "$arch")" = argmax-architecture.json ] && echo "-argmax" || true)
  out="$RUNS/retrain-$name"
  grep -qs '"eval_loss"' "$out/metrics.jsonl" && continue
  resume=""; [ -f "$out/latest" ] && resume="--resume"
  "$BIN" pretrain --arch "$arch" $DATA --lr 1e-3 --warmup 100 --steps "$RETRAIN" --threads 1 --checkpoint-every 100 \
      --eval-every "$RETRAIN" --eval-windows 64 --out "$out" $resume > "$out.log" 2>&1 &
  jobs_at_most 2
done
wait
echo "method,shape,retrained_valid_loss" > "$RUNS/results.csv"
for d in "$RUNS"/retrain-*/; do
  name=$(basename "$d"); name=${name#retrain-}
  python3 - "$d" "$name" >> "$RUNS/results.csv" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "metrics.jsonl")]
loss = [r["eval_loss"] for r in rows if "eval_loss" in r][-1]
arch = json.load(open(sys.argv[1] + "../" + sys.argv[2].replace("-argmax", "") + "/" + ("argmax-" if sys.argv[2].endswith("-argmax") else "") + "architecture.json"))
print(f"{sys.argv[2]},{sum(1 for _ in arch['layers'])}x{arch['hidden']},{loss:.4f}")
PY
done
cat "$RUNS/results.csv"
