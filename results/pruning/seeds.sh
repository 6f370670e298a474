#!/usr/bin/env bash
# Lottery Jackpots over 3 seeds (issue 14, item 5, the seed spread left by pruning.sh). The seed orders the search's
# training batches. Each run starts from the magnitude mask; the magnitude row is deterministic, so it is run once.
# Unstructured masks use score learning rate 1e-5 and structured masks 1e-4: the better rate of each kind in
# pruning.sh's seed-0 runs. KIND=unstructured|structured picks one half, so the two halves can run side by side on
# one thread each. Writes seeds/<kind><sparsity>-<method>-seed<S>.json; BIN, MINILM, RUNS, STEPS overridable.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
MINILM=${MINILM:-runs/instatune/plain-0}
RUNS=${RUNS:-runs/prune-seeds}
OUT=results/pruning/seeds
STEPS=${STEPS:-100}
KIND=${KIND:-unstructured}
mkdir -p "$RUNS" "$OUT"
run() {  # name, options…
  local name=$1; shift
  [ -f "$OUT/$name.json" ] && return 0   # done before: the script resumes
  rm -rf "$RUNS/$name"
  "$BIN" prune --checkpoint "$MINILM" --max-length 64 --threads 1 --out "$RUNS/$name" --json "$OUT/$name.json" "$@" | grep -v "^search step"
  local parent; parent=$(cd "$(dirname "$MINILM")" && pwd)
  sed -i "s|\"$parent/|\"runs/$(basename "$parent")/|" "$OUT/$name.json"   # no absolute paths in results/
}
if [ "$KIND" = unstructured ]; then levels="0.5 0.7 0.9"; flag=""; lr=1e-5; else levels="0.3 0.5 0.7"; flag="--structured"; lr=1e-4; fi
for s in $levels; do
  run "$KIND$s-magnitude" --sparsity $s $flag --seed 0
  for seed in 0 1 2; do run "$KIND$s-jackpot-lr$lr-seed$seed" --sparsity $s $flag --search-steps "$STEPS" --lr $lr --seed $seed; done
done
