#!/usr/bin/env bash
# The screenshots of README's "Seeing the results": one per view (study, ranking, training run) in the
# light colour scheme, and a supernet run in the dark one, by headless Chromium (`make chromium`).
# Run from the repository root after a build: results/dashboard/screenshots.sh [STUDY.db]
#   study:        the given study, else a fresh 150-trial NASWOT search of AutoTinyBERT's space (GA, seed 0)
#   ranking:      results/lts-dev/all-proxies (`swiftnas rank` on the LTS decoders)
#   training run: results/training/wordpiece-decoder (a causal-LM pretraining with evaluations)
#   supernet run: results/supernet/inherited/super-complexity-metrics.jsonl (complexity rule), dark scheme
set -euo pipefail
SWIFTNAS=${SWIFTNAS:-.build/debug/swiftnas}
OUT=results/dashboard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
study=${1:-}
if [ -z "$study" ]; then
  study=$work/study.db
  "$SWIFTNAS" search --space autotinybert --objective naswot --max-params 10e6 --strategy ga --trials 150 --seed 0 \
    --study "$study" --out "$work/search" >/dev/null
fi
"$SWIFTNAS" report "$study" --out "$work/study.html"
"$SWIFTNAS" report results/lts-dev/all-proxies --out "$work/ranking.html"
"$SWIFTNAS" report results/training/wordpiece-decoder --out "$work/run.html"
mkdir -p "$work/supernet"
cp results/supernet/inherited/super-complexity-metrics.jsonl "$work/supernet/metrics.jsonl"
"$SWIFTNAS" report "$work/supernet" --out "$work/supernet.html"

shot() {  # shot NAME HEIGHT [extra chromium flags…]
  local name=$1 height=$2; shift 2
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,"$height" "$@" \
    --screenshot="$OUT/$name.png" "file://$work/${name%-dark}.html" 2>/dev/null
}
shot study 3000
shot ranking 1500
shot run 1500
shot supernet-dark 1500 --blink-settings=preferredColorScheme=0
ls -l "$OUT"/*.png
