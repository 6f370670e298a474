#!/usr/bin/env bash
# Evolved architecture-ranking proxies on the FlexiBERT dev half (issue 14, item 3): per-layer features of each of
# the 250 untrained rows (true-size protocol, 4096 tokens of WikiText-2 valid, seed 0; kept in features.json and
# resumed), then EMQ-style proxy evolution with the within-band Kendall τ as fitness, fitted on the even-id rows and
# reported on the odd-id rows, then the reverse. W-PCA starts every population and is reported beside the result.
# Run from the repository root; BIN overridable.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
OUT=results/evolved-proxies
"$BIN" proxy evolve --ranking ../shared/data/flexibert/benchmark-dev.json --features "$OUT/features.json" \
  --population 40 --iterations 2000 --threads 1 --out "$OUT/flexibert-proxy.json" | tee "$OUT/evolve.txt"
