#!/usr/bin/env bash
# Lottery Jackpots against magnitude pruning (issue 14, item 5) on MiniLM-L6 fine-tuned on SST-2 (`../instatune`'s
# plain-0): unstructured masks on the 36 encoder Linears at 50/70/90 % and structured masks (heads and FFN neurons,
# the smaller dense model written and timed) at 30/50/70 %, each by magnitude with a global threshold and by a
# 100-step mask search from it at score learning rates 1e-5 and 1e-4. SST-2 dev, 64 tokens, 1 thread. Writes
# <kind><sparsity>-<method>.json here; BIN, MINILM, RUNS, STEPS overridable.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
MINILM=${MINILM:-runs/instatune/plain-0}
RUNS=${RUNS:-runs/prune}
OUT=results/pruning
STEPS=${STEPS:-100}
mkdir -p "$RUNS"
run() {  # name, options…
  local name=$1; shift
  [ -f "$OUT/$name.json" ] && return 0   # done before: the script resumes
  rm -rf "$RUNS/$name"
  "$BIN" prune --checkpoint "$MINILM" --max-length 64 --threads 1 --seed 0 --out "$RUNS/$name" --json "$OUT/$name.json" "$@" | grep -v "^search step"
  sed -i "s|\"$(cd "$(dirname "$MINILM")" && pwd)/|\"runs/instatune/|" "$OUT/$name.json"
}
for kind in unstructured structured; do
  if [ $kind = unstructured ]; then levels="0.5 0.7 0.9"; flag=""; else levels="0.3 0.5 0.7"; flag="--structured"; fi
  for s in $levels; do
    run "$kind$s-magnitude" --sparsity $s $flag
    for lr in 1e-5 1e-4; do run "$kind$s-jackpot-lr$lr" --sparsity $s $flag --search-steps "$STEPS" --lr $lr; done
  done
done
python3 - "$OUT" <<'PY'
import glob, json, os, sys
rows = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    r = json.load(open(f)); name = os.path.basename(f)[:-5]
    rows.append((not r["structured"], r["sparsity_target"], name, r))
print("| model | sparsity | method | changed items | dev accuracy | parameters | latency (ms) | search (s) |")
print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
for _, _, name, r in sorted(rows, key=lambda x: (not x[0], x[1], x[2])):
    method = "magnitude" if r["search_steps"] == 0 else f"jackpot, lr {name.split('-lr')[1]}"
    print(f"| {'structured' if r['structured'] else 'unstructured'} | {100 * r['sparsity']:.1f} % | {method} | {r['changed_from_magnitude']} | "
          f"{100 * r['accuracy']:.2f} % | {r['parameters'] / 1e6:.2f}M | {r['latency_ms']:.1f} (original {r['original_latency_ms']:.1f}) | {r['search_seconds']:.0f} |")
PY
