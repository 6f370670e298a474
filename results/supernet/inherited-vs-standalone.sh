#!/usr/bin/env bash
# Inherited vs stand-alone (issue 11, item 5): 16 architectures of a small AutoTinyBERT space (under 6M
# parameters, two bands of ≤ 1.10× parameters) and the space's largest and smallest member, each trained
# stand-alone for one fixed number of steps (about 10 minutes at one thread; steps, not minutes, so that
# the ground truth does not depend on what else the machine ran), against the same architectures scored
# with the weights they inherit from one supernet per rule (every rule with the same wall-clock budget).
# Run from the repository root; BIN, RUNS and the budgets can be overridden. Two jobs at a time, one
# thread each (the machine has 2 cores).
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/inherited}
SPACE=results/supernet/autotinybert-small-space.json
ALONE_STEPS=${ALONE_STEPS:-1500} # stand-alone budget per architecture (steps)
SUPER_MIN=${SUPER_MIN:-12}      # supernet budget per rule (minutes, one thread)
OUT=results/supernet/inherited
VALID=../shared/data/wikitext-2/valid.txt
COMMON="--schedule constant --warmup 100 --lr 5e-4 --batch-size 8 --sequence-length 128 --threads 1 --checkpoint-every 100000"
mkdir -p "$RUNS" "$OUT"

# 1. Eight random members of each band (random search on the parameter count, a budget range per band).
for band in "A 4.40e6 4.84e6" "B 5.30e6 5.83e6"; do
  set -- $band
  [ -f "$RUNS/band$1.db" ] || "$BIN" search --space "$SPACE" --objective params --strategy random --min-params "$2" \
      --max-params "$3" --trials 8 --seed 11 --study "$RUNS/band$1.db" --out "$RUNS/band$1" > /dev/null
  "$BIN" study export "$RUNS/band$1.db" --format json > "$RUNS/band$1.json"
done
python3 - "$RUNS" <<'PY'
import json, os, sys
runs = sys.argv[1]
for band in "AB":
    for t in json.load(open(f"{runs}/band{band}.json"))["trials"]:
        with open(f"{runs}/arch-{band}{t['number']}.json", "w") as f: json.dump(t["architecture"], f)
PY
ARCHS=$(cd "$RUNS" && ls arch-[AB]*.json | sed 's/\.json$//')
cp results/supernet/autotinybert-small-largest.json "$RUNS/arch-largest.json"
cp results/supernet/autotinybert-small-smallest.json "$RUNS/arch-smallest.json"

# 2. Stand-alone: masked-LM pretraining on the World English Bible, ALONE_STEPS steps each, two at a time.
for a in $ARCHS arch-smallest arch-largest; do
  [ -f "$RUNS/alone-$a/latest" ] || "$BIN" pretrain --arch "$RUNS/$a.json" $COMMON --steps "$ALONE_STEPS" --out "$RUNS/alone-$a" > "$RUNS/alone-$a.log" 2>&1 &
  while [ "$(jobs -r | wc -l)" -ge 2 ]; do sleep 5; done
done
wait

# 3. One supernet per rule, SUPER_MIN minutes each (two at a time).
for rule in uniform sandwich complexity; do
  [ -f "$RUNS/super-$rule/latest" ] || "$BIN" supernet train --space "$SPACE" --rule "$rule" $COMMON --steps 1000000 --time-budget "$SUPER_MIN" \
      --out "$RUNS/super-$rule" > "$RUNS/super-$rule.log" 2>&1 &
  while [ "$(jobs -r | wc -l)" -ge 2 ]; do sleep 5; done
done
wait

# 4. Held-out masked-LM loss on WikiText-2 valid (the same evaluation for both): stand-alone checkpoints,
#    and each architecture extracted from each supernet (its inherited weights, no retraining).
loss() { "$BIN" evaluate --checkpoint "$1" --corpus "${CORPUS:-$VALID}" --max-windows 400 --threads 1 | sed -n 's/.*loss \([0-9.]*\).*/\1/p'; }
losses() {  # the stand-alone loss, its steps, then the inherited loss under each rule
  local row; row="$(loss "$RUNS/alone-$1"),$(sed 's/checkpoint-//' "$RUNS/alone-$1/latest")"
  for rule in uniform sandwich complexity; do
    rm -rf "$RUNS/ex-$rule-$1"
    "$BIN" supernet extract --supernet "$RUNS/super-$rule" --arch "$RUNS/$1.json" --out "$RUNS/ex-$rule-$1" > /dev/null
    row="$row,$(loss "$RUNS/ex-$rule-$1")"
  done
  echo "$row"
}
echo "arch,params,standalone,standalone_steps,uniform,sandwich,complexity" > "$OUT/losses.csv"
for a in $ARCHS; do
  params=$(python3 -c "import json;print(json.load(open('$RUNS/band${a:5:1}.json'))['trials'][int('${a:6}')]['costs']['params'])")
  echo "$a,$params,$(losses "$a")" >> "$OUT/losses.csv"
done
echo "arch,standalone,standalone_steps,uniform,sandwich,complexity" > "$OUT/extremes.csv"
for a in arch-smallest arch-largest; do echo "$a,$(losses "$a")" >> "$OUT/extremes.csv"; done
python3 results/supernet/size_histogram.py "$RUNS"/super-{uniform,sandwich,complexity}/metrics.jsonl > "$OUT/size-histogram.txt"
for rule in uniform sandwich complexity; do cp "$RUNS/super-$rule/metrics.jsonl" "$OUT/super-$rule-metrics.jsonl"; done
python3 results/supernet/kendall_bootstrap.py "$OUT/losses.csv" | tee "$OUT/table.txt"
# 5. The same checkpoints scored on the training text itself (in domain).
echo "arch,params,standalone,standalone_steps,uniform,sandwich,complexity" > "$OUT/losses-training-text.csv"
for a in $ARCHS; do
  params=$(python3 -c "import json;print(json.load(open('$RUNS/band${a:5:1}.json'))['trials'][int('${a:6}')]['costs']['params'])")
  row="$(CORPUS=../shared/data/web-bible/web.txt loss "$RUNS/alone-$a"),$ALONE_STEPS"
  for rule in uniform sandwich complexity; do row="$row,$(CORPUS=../shared/data/web-bible/web.txt loss "$RUNS/ex-$rule-$a")"; done
  echo "$a,$params,$row" >> "$OUT/losses-training-text.csv"
done
python3 results/supernet/kendall_bootstrap.py "$OUT/losses-training-text.csv" | tee "$OUT/table-training-text.txt"
