#!/usr/bin/env bash
# FlexiBERT supernets (issue 11, item 4): the true-size space's supernet trained by masked LM on the World
# English Bible under the uniform and the sandwich rule, each for the same 40-minute wall-clock budget
# (side by side, one thread each), then every dev architecture scored with its inherited weights.
# Run from the repository root; BIN and RUNS can be overridden.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/flexibert}
for rule in uniform sandwich; do
  "$BIN" supernet train --space flexibert-true-size --rule "$rule" --schedule constant --warmup 100 --steps 100000 \
      --time-budget 40 --lr 5e-4 --batch-size 8 --sequence-length 128 --threads 1 --checkpoint-every 200 --log-every 10 \
      --validation ../shared/data/wikitext-2/valid.txt --eval-every 200 --eval-windows 8 --out "$RUNS/$rule" > "$RUNS-$rule.log" 2>&1 &
done
wait
for rule in uniform sandwich; do
  "$BIN" rank --proxies supernet,params --supernet "$RUNS/$rule" --tokens 4096 --threads 1 --out "$RUNS-rank-$rule" &
done
wait
