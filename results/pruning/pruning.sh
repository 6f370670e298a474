#!/usr/bin/env bash
# Lottery Jackpots against magnitude pruning (issue 14, item 5) on MiniLM-L6 fine-tuned on SST-2 (`../instatune`'s
# plain-0): unstructured masks on the 36 encoder Linears at 50/70/90 % and structured masks (heads and FFN neurons,
# the smaller dense model written and timed) at 30/50/70 %, each by magnitude with a global threshold and by a
# 100-step mask search from it. SST-2 dev, 64 tokens, 1 thread. Writes <kind><sparsity>-<method>.json here;
# BIN, MINILM, RUNS overridable.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
MINILM=${MINILM:-runs/instatune/plain-0}
RUNS=${RUNS:-runs/prune}
OUT=results/pruning
STEPS=${STEPS:-100}
mkdir -p "$RUNS"
run() {  # name, options…
  local name=$1; shift
  rm -rf "$RUNS/$name"
  "$BIN" prune --checkpoint "$MINILM" --max-length 64 --threads 1 --lr 1e-4 --seed 0 --out "$RUNS/$name" --json "$OUT/$name.json" "$@" | tail -1
  sed -i "s|\"$(cd "$(dirname "$MINILM")" && pwd)/|\"runs/instatune/|" "$OUT/$name.json"
}
for s in 0.5 0.7 0.9; do
  run "unstructured$s-magnitude" --sparsity $s
  run "unstructured$s-jackpot" --sparsity $s --search-steps "$STEPS"
done
for s in 0.3 0.5 0.7; do
  run "structured$s-magnitude" --sparsity $s --structured
  run "structured$s-jackpot" --sparsity $s --structured --search-steps "$STEPS"
done
