#!/usr/bin/env bash
# The complexity rule on the FlexiBERT true-size space (issue 11, item 4): the same recipe and 40-minute budget
# as `flexibert.sh`'s uniform and sandwich runs (one thread), then every dev architecture scored with its
# inherited weights. Run from the repository root; BIN and RUNS can be overridden.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/flexibert}
"$BIN" supernet train --space flexibert-true-size --rule complexity --schedule constant --warmup 100 --steps 100000 \
    --time-budget 40 --lr 5e-4 --batch-size 8 --sequence-length 128 --threads 1 --checkpoint-every 200 --log-every 10 \
    --validation ../shared/data/wikitext-2/valid.txt --eval-every 200 --eval-windows 8 --out "$RUNS/complexity" > "$RUNS-complexity.log" 2>&1
"$BIN" rank --proxies supernet,params --supernet "$RUNS/complexity" --tokens 4096 --threads 1 --out "$RUNS-rank-complexity"
