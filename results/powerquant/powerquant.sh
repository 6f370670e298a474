#!/usr/bin/env bash
# PowerQuant's data-free exponents and NUPES's learnt ones against round-to-nearest (issue 14, item 4): SST-2 dev accuracy
# of two fine-tuned models with simulated W4 and W3 weights (every Linear of the backbone, symmetric per output
# channel) and 8-bit inputs (asymmetric per tensor, dynamic), embeddings, LayerNorms and the classifier fp32:
# MiniLM-L6 fine-tuned on SST-2 (`../instatune`'s plain-0/1/2) and the 4.4M hand-designed model fine-tuned on SST-2
# (`../precision`'s fp32-sst2-0/1/2). Writes results.csv. BIN, MINILM, SMALL overridable (run folders).
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
MINILM=${MINILM:-runs/instatune}
SMALL=${SMALL:-runs/precision}
OUT=results/powerquant
echo "model,seed,weights,grid,accuracy,weight_error,output_error_start,output_error,seconds" > "$OUT/results.csv"
run() {  # model name, checkpoint, seed, extra options…
  local name=$1 ck=$2 seed=$3; shift 3
  local json; json=$(mktemp)
  "$BIN" evaluate --checkpoint "$ck" --max-length 64 --threads ${THREADS:-1} --json "$json" "$@" > /dev/null
  python3 - "$json" "$name" "$seed" "$@" >> "$OUT/results.csv" <<'PY'
import json, sys
f, name, seed, *opts = sys.argv[1:]
r = json.load(open(f))
bits = opts[opts.index("--weight-bits") + 1] if "--weight-bits" in opts else "32"
grid = opts[opts.index("--weight-grid") + 1] if "--weight-grid" in opts else ("-" if bits == "32" else "uniform")
out = lambda k: f"{r[k]:.5g}" if k in r else ""
print(f"{name},{seed},W{bits},{grid},{100 * r['accuracy']:.2f},{r.get('weight_error', 0):.5f},{out('output_error_start')},{out('output_error')},{r['seconds']:.1f}")
PY
  rm -f "$json"
}
for s in 0 1 2; do
  for m in "minilm-l6 $MINILM/plain-$s" "hand-4.4m $SMALL/fp32-sst2-$s"; do
    set -- $m
    run "$1" "$2" "$s"
    for b in 4 3; do
      run "$1" "$2" "$s" --weight-bits "$b" --weight-grid uniform
      run "$1" "$2" "$s" --weight-bits "$b" --weight-grid power
      run "$1" "$2" "$s" --weight-bits "$b" --weight-grid nupes
    done
  done
done
python3 - "$OUT/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keys = sorted({(r["model"], r["weights"], r["grid"]) for r in rows}, key=lambda k: (k[0], -int(k[1][1:]), k[2]))
for k in keys:
    xs = [float(r["accuracy"]) for r in rows if (r["model"], r["weights"], r["grid"]) == k]
    es = [float(r["weight_error"]) for r in rows if (r["model"], r["weights"], r["grid"]) == k]
    se = statistics.stdev(xs) / len(xs) ** 0.5
    print(f"{k[0]:10s} {k[1]:4s} {k[2]:8s} accuracy {' / '.join(f'{x:.2f}' for x in xs)}  mean {statistics.mean(xs):.2f} ± {se:.2f}"
          f"  weight error {statistics.mean(es):.4f}")
PY
