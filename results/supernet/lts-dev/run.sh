#!/usr/bin/env bash
# The LTS decoder supernet (issue 11, item 4): the space of the dev rows with d_model ≤ 256, sandwich rule,
# 25 minutes at one thread, then those 79 rows ranked by inherited-weight causal-LM loss on 4 × 128 WordPiece
# tokens of WikiText-2 valid, beside #params, non-embedding params, SNIP and Fisher on the same rows and batch.
# Run from the repository root; BIN and RUNS can be overridden.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/lts}
"$BIN" supernet train --space results/supernet/lts-d256-space.json --rule sandwich --corpus ../shared/data/wikitext-2/test.txt \
    --corpus ../shared/data/web-bible/web.txt --validation ../shared/data/wikitext-2/valid.txt --schedule constant --warmup 50 \
    --steps 1000000 --lr 5e-4 --batch-size 8 --sequence-length 128 --threads 1 --checkpoint-every 100000 --time-budget 25 \
    --eval-every 100 --eval-batch 8 --out "$RUNS/sandwich"
"$BIN" rank --benchmark ../shared/data/lts-gpt2-wt103/benchmark-dev.json --proxies supernet,params,nonembedding-params,snip,fisher \
    --supernet "$RUNS/sandwich" --max-hidden 256 --tokens 512 --threads 2 --out "$RUNS/rank"
