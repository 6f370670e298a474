#!/bin/bash
# glue-more NAME TASK: fine-tune the pretrained NAME model on TASK (3 epochs), 1 thread.
set -e
cd /tmp/runsrc
T0=$(date +%s)
.build/release/swiftnas finetune --checkpoint /tmp/runs/$1-pretrain --task $2 --out /tmp/runs/$1-$2 --epochs 3 --batch-size 32 \
  --max-length 128 --lr 3e-4 --threads 1 --seed 0 --log-every 50
echo "WALL $1 $2 $(( $(date +%s) - T0 )) s"
