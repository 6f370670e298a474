#!/usr/bin/env bash
# The compressed models as files (issue 14's report): `quantize apply` writes MiniLM-L6 fine-tuned on SST-2 at int8,
# at 4 and 3 bits on the uniform, PowerQuant and NUPES grids, and at the evolved proxy's 3.0-bit allocation (`quantize
# search` on this model); each file
# is evaluated on SST-2 dev (`evaluate`), its size measured, and its latency measured (`model info --latency`: batch 1
# × 64 tokens, one thread, median of 21). The simulated accuracy of the same bits (`evaluate --weight-bits`, `quantize
# search`) is printed beside it. Run from the repository root; BIN, MODEL, RUNS overridable. Writes files.txt.
set -euo pipefail
BIN=${BIN:-.build/release/swiftnas}
MODEL=${MODEL:-runs/instatune/plain-0}
RUNS=${RUNS:-runs/mixed-precision-files}
OUT=results/mixed-precision
mkdir -p "$RUNS"
EVAL="--max-length 64 --threads 2"

accuracy() { "$BIN" evaluate --checkpoint "$1" $EVAL "${@:2}" --json "$RUNS/eval.json" > /dev/null
             python3 -c 'import json, sys; print("%.2f" % (100 * json.load(open(sys.argv[1]))["accuracy"]))' "$RUNS/eval.json"; }
# Accuracies are kept in $RUNS/accuracy-KEY.txt, so a second run re-measures only the latencies.
cached() { local f="$RUNS/accuracy-$1.txt"; [ -f "$f" ] || accuracy "${@:2}" > "$f"; cat "$f"; }
latency() { "$BIN" model info --checkpoint "$1" --latency --seq 64 --threads 1 | sed -n 's/.*latency[^0-9]*\([0-9.]*\) ms.*/\1/p' | head -n 1; }
megabytes() { python3 -c 'import os, sys; print("%.1f" % (os.path.getsize(sys.argv[1]) / 1e6))' "$1/model.safetensors"; }

[ -f "$RUNS/search-evolved.json" ] || "$BIN" quantize search --checkpoint "$MODEL" --max-bits-per-weight 3 \
  --proxy "$OUT/evolved-proxy.json" --max-length 64 --probes 32 --threads 2 --json "$RUNS/search-evolved.json"
MODELS="int8 w4 w3 w4-power w3-power w4-nupes w3-nupes evolved"
for name in $MODELS; do
  [ -d "$RUNS/$name" ] && continue
  case $name in
    int8) opts="--weights int8" ;;
    w4) opts="--weight-bits 4" ;;
    w3) opts="--weight-bits 3" ;;
    w4-power|w3-power) opts="--weight-bits ${name:1:1} --weight-grid power" ;;
    w4-nupes|w3-nupes) opts="--weight-bits ${name:1:1} --weight-grid nupes --max-length 64 --threads 2" ;;
    evolved) opts="--bits-from $RUNS/search-evolved.json" ;;
  esac
  # shellcheck disable=SC2086
  "$BIN" quantize apply --checkpoint "$MODEL" $opts --out "$RUNS/$name"
done

# Latency: 3 rounds over the models (interleaved, so a busy moment of the machine hits all alike); the median.
declare -A ms
for round in 1 2 3; do
  for name in fp32 $MODELS; do
    dir="$RUNS/$name"; [ $name = fp32 ] && dir="$MODEL"
    ms[$name]="${ms[$name]:-} $(latency "$dir")"
  done
done
median() { python3 -c 'import statistics, sys; print("%.1f" % statistics.median(map(float, sys.argv[1:])))' $1; }
size() { [ "$1" = fp32 ] && megabytes "$MODEL" || megabytes "$RUNS/$1"; }
row() {  # label, name, accuracy of the file, simulated accuracy
  echo "| $1 | $(size "$2") | $(median "${ms[$2]}") (${ms[$2]# }) | $3 | $4 |"
}
evolved_simulated=$(python3 -c 'import json, sys; print("%.2f" % (100 * json.load(open(sys.argv[1]))["accuracy"]))' "$RUNS/search-evolved.json")
{
  echo "| model | model.safetensors (MB) | latency, ms (median; the 3 runs) | SST-2 dev, the file | SST-2 dev, simulated |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  row fp32 fp32 "$(cached fp32 "$MODEL")" "–"
  row int8 int8 "$(cached int8 "$RUNS/int8")" "$(cached int8-simulated "$MODEL" --weight-bits 8)"
  row "W4 uniform" w4 "$(cached w4 "$RUNS/w4")" "$(cached w4-simulated "$MODEL" --weight-bits 4)"
  row "W3 uniform" w3 "$(cached w3 "$RUNS/w3")" "$(cached w3-simulated "$MODEL" --weight-bits 3)"
  for grid in power nupes; do
    for b in 4 3; do
      row "W$b $grid" "w$b-$grid" "$(cached "w$b-$grid" "$RUNS/w$b-$grid")" "$(cached "w$b-$grid-simulated" "$MODEL" --weight-bits $b --weight-grid $grid)"
    done
  done
  row "evolved allocation, 3.0 bits per weight" evolved "$(cached evolved "$RUNS/evolved")" "$evolved_simulated"
} | tee "$OUT/files.txt"
