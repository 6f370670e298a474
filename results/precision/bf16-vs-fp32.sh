#!/bin/bash
# bf16 mixed precision against fp32 on real data, same budget: the 4.4M encoder of results/training
# (sst2-tiny) pretrained by masked LM on the World English Bible, then fine-tuned on SST-2 with three
# seeds; the fp32 fine-tuned models are also quantized to int8 and bf16 weights and evaluated.
# Usage: results/precision/bf16-vs-fp32.sh PRECISION (fp32 or bf16), from the repository root after
# `make build`; outputs go to $RUNS (default runs/precision).
set -e
P=$1
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/precision}
STEPS=${STEPS:-800}
ARCH=results/training/sst2-tiny/architecture.json
T0=$(date +%s)
$BIN pretrain --arch "$ARCH" --corpus ../shared/data/web-bible/web.txt --validation ../shared/data/wikitext-2/valid.txt \
  --out "$RUNS/$P-pretrain" --steps "$STEPS" --warmup 100 --batch-size 16 --sequence-length 128 --lr 1e-3 \
  --precision "$P" --threads 1 --seed 0 --checkpoint-every 400 --log-every 50 --eval-windows 100
T1=$(date +%s)
for SEED in 0 1 2; do
  $BIN finetune --checkpoint "$RUNS/$P-pretrain" --task sst-2 --out "$RUNS/$P-sst2-$SEED" --epochs 1 --batch-size 32 \
    --max-length 64 --lr 3e-4 --precision "$P" --threads 1 --seed "$SEED" --log-every 200
  $BIN evaluate --checkpoint "$RUNS/$P-sst2-$SEED" --max-length 64 --threads 1 --json "$RUNS/$P-sst2-$SEED.json"
  if [ "$P" = fp32 ]; then
    for W in int8 bf16; do
      rm -rf "$RUNS/$P-sst2-$SEED-$W"
      $BIN quantize apply --checkpoint "$RUNS/$P-sst2-$SEED" --weights $W --out "$RUNS/$P-sst2-$SEED-$W"
      $BIN evaluate --checkpoint "$RUNS/$P-sst2-$SEED-$W" --max-length 64 --threads 1 --json "$RUNS/$P-sst2-$SEED-$W.json"
    done
  fi
done
T2=$(date +%s)
echo "WALL $P pretrain $((T1-T0)) s, fine-tuning and evaluation $((T2-T1)) s"
