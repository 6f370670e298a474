#!/usr/bin/env bash
# FlexiBERT supernets with per-layer operation choices (issue 11, item 4): the `flexibert` space (every layer
# SDP, WMA, DFT, DCT or a dynamic convolution of kernel 5, 9 or 13; one weight set per operation, widths
# entangled within each) trained by masked LM on the World English Bible under the uniform and the sandwich
# rule, each for the same 40-minute budget (side by side, one thread each), then every dev architecture read
# by its labels (`--protocol labels`) scored with its inherited weights, beside #params, W-PCA and NASWOT.
# Run from the repository root; BIN and RUNS can be overridden.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/flexibert-operations}
for rule in uniform sandwich; do
  "$BIN" supernet train --space flexibert --rule "$rule" --schedule constant --warmup 100 --steps 100000 \
      --time-budget 40 --lr 5e-4 --batch-size 8 --sequence-length 128 --threads 1 --checkpoint-every 100 --log-every 10 \
      --validation ../shared/data/wikitext-2/valid.txt --eval-every 100 --eval-windows 8 --out "$RUNS/$rule" > "$RUNS-$rule.log" 2>&1 &
done
wait
for rule in uniform sandwich; do
  proxies=supernet,params
  [ "$rule" = sandwich ] && proxies=supernet,params,w-pca,naswot
  "$BIN" rank --protocol labels --proxies "$proxies" --supernet "$RUNS/$rule" --tokens 4096 --threads 1 --out "$RUNS-rank-$rule" &
done
wait
