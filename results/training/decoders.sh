#!/bin/bash
# decoders KIND STEPS: a WordPiece decoder on WEB + Tiny Shakespeare (WikiText-2 test perplexity), or the
# TangleNAS-space char model on Tiny Shakespeare (validation loss). One thread.
set -e
BIN=/tmp/runsrc/.build/release/swiftnas
cd /tmp/runsrc
T0=$(date +%s)
if [ "$1" = wordpiece ]; then
  $BIN pretrain --arch /tmp/runs/wpdec.json --corpus ../shared/data/web-bible/web.txt --corpus ../shared/data/tinyshakespeare/input.txt \
    --validation ../shared/data/wikitext-2/valid.txt --out /tmp/runs/wpdec-run --steps $2 --warmup 100 --batch-size 16 \
    --sequence-length 128 --lr 1e-3 --threads 1 --seed 0 --checkpoint-every 250 --log-every 20 --eval-every 500 --eval-windows 100
  $BIN evaluate --checkpoint /tmp/runs/wpdec-run --corpus ../shared/data/wikitext-2/test.txt --sequence-length 128 \
    --json /tmp/runs/wpdec-test.json --threads 1
else
  $BIN pretrain --arch /tmp/runs/tangle.json --corpus /tmp/runs/shakespeare-train.txt --tokenizer char \
    --validation /tmp/runs/shakespeare-val.txt --out /tmp/runs/tangle-run --steps $2 --warmup 100 --batch-size 16 \
    --sequence-length 256 --lr 1e-3 --dropout 0.1 --threads 1 --seed 0 --checkpoint-every 250 --log-every 20 --eval-every 500 \
    --eval-windows 200
  $BIN evaluate --checkpoint /tmp/runs/tangle-run --corpus /tmp/runs/shakespeare-val.txt --sequence-length 256 \
    --json /tmp/runs/tangle-val.json --threads 1
fi
T1=$(date +%s)
echo "WALL $1 $((T1-T0)) s"
