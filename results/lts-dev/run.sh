#!/bin/sh
# Ranks the 100 LTS dev decoders with every proxy (results/lts-dev/all-proxies). Run from the repository
# root after `swift build -c release --product swiftnas`; BIN overrides the binary.
# 4 × 128 = 512 tokens of WordPiece-tokenised WikiText-2 valid (causal windows), seed 0, one thread:
# about 20 minutes on one core of the project's 2-core machine.
set -eu
BIN=${BIN:-.build/release/swiftnas}
OUT=${OUT:-results/lts-dev/all-proxies}
mkdir -p "$OUT"
"$BIN" rank --benchmark ../shared/data/lts-gpt2-wt103/benchmark-dev.json --proxies all --threads 1 \
    --tokens 512 --length 128 --seed 0 --out "$OUT" | tee "$OUT/table.txt"
