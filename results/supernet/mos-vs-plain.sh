#!/usr/bin/env bash
# Mixture-of-Supernets vs the plain supernet (issue 12, item 3), on the inherited-vs-stand-alone set of issue 11:
# `inherited-vs-standalone.sh` must have run in RUNS (its 16 + 1 stand-alone checkpoints of 1,500 steps and its
# uniform supernet are reused). Two routed supernets — m = 2 experts, layer-wise and neuron-wise routing — are
# trained with the uniform rule and the plain one's options and wall-clock budget (SUPER_MIN minutes, one thread
# each, side by side), then every architecture is extracted from each (experts collapsed: a plain model) and
# scored on the training text, 400 windows, as the plain supernet's members were. Run from the repository root.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/inherited}
SPACE=results/supernet/autotinybert-small-space.json
SUPER_MIN=${SUPER_MIN:-10}   # the plain uniform supernet's budget in that run
OUT=results/supernet/mos
TEXT=../shared/data/web-bible/web.txt
COMMON="--schedule constant --warmup 100 --lr 5e-4 --batch-size 8 --sequence-length 128 --threads 1 --checkpoint-every 100000"
mkdir -p "$OUT"
[ -f "$RUNS/super-uniform/latest" ] || { echo "run inherited-vs-standalone.sh first (no $RUNS/super-uniform)" >&2; exit 1; }

for routing in layer neuron; do
  [ -f "$RUNS/super-mos-$routing/latest" ] || "$BIN" supernet train --space "$SPACE" --rule uniform $COMMON --steps 1000000 \
      --time-budget "$SUPER_MIN" --experts 2 --routing "$routing" --out "$RUNS/super-mos-$routing" > "$RUNS/super-mos-$routing.log" 2>&1 &
done
wait

loss() { "$BIN" evaluate --checkpoint "$1" --corpus "$TEXT" --max-windows 400 --threads 1 | sed -n 's/.*loss \([0-9.]*\).*/\1/p'; }
inherited() {  # architecture, supernet run → the inherited loss of the architecture's extracted model
  rm -rf "$RUNS/ex-$2-$1"
  "$BIN" supernet extract --supernet "$RUNS/$2" --arch "$RUNS/$1.json" --out "$RUNS/ex-$2-$1" > /dev/null
  loss "$RUNS/ex-$2-$1"
}
# The stand-alone and plain-supernet columns are those of inherited/losses-training-text.csv (the same checkpoints
# and evaluation; A0's are recomputed as a check).
PLAIN=results/supernet/inherited/losses-training-text.csv
check=$(loss "$RUNS/alone-arch-A0"),$(inherited arch-A0 super-uniform)
[ "$check" = "$(grep -h '^arch-A0,' "$PLAIN" | cut -d, -f3,5)" ] || { echo "A0 re-scored $check, not as in $PLAIN" >&2; exit 1; }
echo "arch,params,standalone,standalone_steps,uniform,mos_layer,mos_neuron" > "$OUT/losses-training-text.csv"
for a in $(cut -d, -f1 "$PLAIN" | tail -n +2); do
  row=$(grep -h "^$a," "$PLAIN" | cut -d, -f1-5)
  for s in super-mos-layer super-mos-neuron; do row="$row,$(inherited "$a" "$s")"; done
  echo "$row" >> "$OUT/losses-training-text.csv"
done
for r in layer neuron; do
  grep -h '"step"' "$RUNS/super-mos-$r/metrics.jsonl" | tail -1 > "$OUT/super-mos-$r-last.json"
done
python3 results/supernet/kendall_bootstrap.py "$OUT/losses-training-text.csv" | tee "$OUT/table-training-text.txt"
# The paper's claim: a smaller gap between inherited and stand-alone loss (mean over the members, and its range).
python3 - "$OUT/losses-training-text.csv" <<'PY' | tee -a "$OUT/table-training-text.txt"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("\nsupernet     mean gap (inherited − stand-alone), nats   min    max")
for k in ("uniform", "mos_layer", "mos_neuron"):
    gaps = [float(r[k]) - float(r["standalone"]) for r in rows]
    print(f"{k:12s} {sum(gaps) / len(gaps):+.4f}                                {min(gaps):+.4f} {max(gaps):+.4f}")
PY
