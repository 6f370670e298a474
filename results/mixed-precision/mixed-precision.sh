#!/usr/bin/env bash
# EMQ's mixed-precision benchmark and proxy evolution for transformers (issue 14, items 1–2), on MiniLM-L6
# fine-tuned on SST-2 (`../instatune`'s plain fine-tuning, seed 0: 84.63 % dev accuracy).
#   1. `quantize benchmark`: SST-2 dev accuracy of 300 random configurations, each of the 36 units (Q, K, V, O,
#      FFN1, FFN2 × 6 layers) at 2, 3 or 4 weight bits (per-channel round-to-nearest), every unit's input at
#      8 bits, embeddings and classifier at 8 bits. Resumable; copied here as minilm-w234.json. Then the same at
#      4…8 bits (minilm-w48.json).
#   2. `proxy evolve --benchmark`: an EMQ proxy evolved on the 210 training configurations, reported on the 90
#      test configurations against the hand-made proxies (evolve.txt, evolved-proxy.json).
#   3. `quantize search`: the best configuration under 3.0 bits per weight by the evolved proxy, HAWQ-V2 and
#      Fisher, and uniform 3-bit, each evaluated for real (search-*.json, allocation.txt).
# Run from the repository root; BIN, MODEL, RUNS overridable.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
MODEL=${MODEL:-runs/instatune/plain-0}
RUNS=${RUNS:-runs/mixed-precision}
OUT=results/mixed-precision
mkdir -p "$RUNS"
"$BIN" quantize benchmark --checkpoint "$MODEL" --configurations 300 --bits 2,3,4 --max-length 64 --threads 2 \
  --out "$RUNS/minilm-w234.json"
cp "$RUNS/minilm-w234.json" "$OUT/minilm-w234.json"
# The second bit set (4…8 bits per unit), the same setting otherwise.
"$BIN" quantize benchmark --checkpoint "$MODEL" --configurations 300 --bits 4,5,6,7,8 --max-length 64 --threads 2 \
  --out "$RUNS/minilm-w48.json"
cp "$RUNS/minilm-w48.json" "$OUT/minilm-w48.json"
"$BIN" proxy evolve --benchmark "$OUT/minilm-w234.json" --checkpoint "$MODEL" --population 40 --iterations 600 --threads 2 \
  --probes 32 --out "$OUT/evolved-proxy.json" | tee "$OUT/evolve.txt"
: > "$OUT/allocation.txt"
for proxy in "$OUT/evolved-proxy.json" hawq fisher uniform; do
  name=$(basename "$proxy" .json)
  "$BIN" quantize search --checkpoint "$MODEL" --max-bits-per-weight 3 --proxy "$proxy" --max-length 64 --probes 32 --threads 2 \
    --json "$OUT/search-$name.json" | tee -a "$OUT/allocation.txt"
done
