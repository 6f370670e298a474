#!/bin/bash
# decoders KIND STEPS: a WordPiece decoder on WEB + Tiny Shakespeare (WikiText-2 test perplexity), or the
# TangleNAS-space char model on Tiny Shakespeare (validation loss on the last 10 %). One thread. Run from
# the repository root after `make build`; outputs go to $RUNS (default runs/training).
set -e
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/training}
HERE=$(dirname "$0")
mkdir -p "$RUNS"
T0=$(date +%s)
if [ "$1" = wordpiece ]; then
  $BIN pretrain --arch "$HERE/wordpiece-decoder/architecture.json" --corpus ../shared/data/web-bible/web.txt \
    --corpus ../shared/data/tinyshakespeare/input.txt --validation ../shared/data/wikitext-2/valid.txt \
    --out "$RUNS/wpdec-run" --steps "$2" --warmup 100 --batch-size 16 --sequence-length 128 --lr 1e-3 --threads 1 \
    --seed 0 --checkpoint-every 250 --log-every 20 --eval-every 500 --eval-windows 100
  $BIN evaluate --checkpoint "$RUNS/wpdec-run" --corpus ../shared/data/wikitext-2/test.txt --sequence-length 128 \
    --json "$RUNS/wpdec-test.json" --threads 1
else
  # nanoGPT's split: the first 90 % of the characters train, the rest validate.
  python3 -c "
t = open('../shared/data/tinyshakespeare/input.txt', encoding='utf-8').read(); n = int(len(t) * 0.9)
open('$RUNS/shakespeare-train.txt', 'w', encoding='utf-8').write(t[:n]); open('$RUNS/shakespeare-val.txt', 'w', encoding='utf-8').write(t[n:])"
  $BIN pretrain --arch "$HERE/tangle-shakespeare/architecture.json" --corpus "$RUNS/shakespeare-train.txt" --tokenizer char \
    --validation "$RUNS/shakespeare-val.txt" --out "$RUNS/tangle-run" --steps "$2" --warmup 100 --batch-size 16 \
    --sequence-length 256 --lr 1e-3 --dropout 0.1 --threads 1 --seed 0 --checkpoint-every 250 --log-every 20 \
    --eval-every 500 --eval-windows 200
  $BIN evaluate --checkpoint "$RUNS/tangle-run" --corpus "$RUNS/shakespeare-val.txt" --sequence-length 256 \
    --json "$RUNS/tangle-val.json" --threads 1
fi
echo "WALL $1 $(( $(date +%s) - T0 )) s"
