#!/bin/bash
# glue-more NAME TASK: fine-tune the pretrained NAME model (from pipeline.sh) on TASK, 3 epochs, one thread.
# Run from the repository root.
set -e
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/training}
T0=$(date +%s)
$BIN finetune --checkpoint "$RUNS/$1-pretrain" --task "$2" --out "$RUNS/$1-$2" --epochs 3 --batch-size 32 \
  --max-length 128 --lr 3e-4 --threads 1 --seed 0 --log-every 50
echo "WALL $1 $2 $(( $(date +%s) - T0 )) s"
