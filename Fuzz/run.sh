#!/usr/bin/env bash
# Runs each fuzz target for FUZZ_SECONDS on a scratch copy of its seed corpus (the committed corpus in
# Fuzz/corpus/<target> is never written), then prints executions, exec/s and coverage per target.
# Exits non-zero when a target crashed (the input is in $FUZZ_WORK/<target>/crash-*).
#   usage: Fuzz/run.sh [target…]        (default: every target)
#   env:   FUZZ_SECONDS (60)  FUZZ_WORK (.fuzz)  FUZZ_BIN (Fuzz/.build/release)  FUZZ_FLAGS (extra libFuzzer flags)
set -u
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
WORK=${FUZZ_WORK:-.fuzz}
BIN=${FUZZ_BIN:-Fuzz/.build/release}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(safetensors config architecture space vocab glue study)
export LSAN_OPTIONS="suppressions=$PWD/Fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

failed=()
summary=()
for t in "${TARGETS[@]}"; do
  dir="$WORK/$t"
  rm -rf "$dir" && mkdir -p "$dir/corpus"
  cp Fuzz/corpus/"$t"/* "$dir/corpus/"
  dict=(); [ -f "Fuzz/dict/$t.dict" ] && dict=(-dict="Fuzz/dict/$t.dict")
  echo "fuzz-$t: ${SECONDS_PER_TARGET}s (log: $dir/log)"
  started=$SECONDS
  # shellcheck disable=SC2086
  nice -n 10 "$BIN/fuzz-$t" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" ${FUZZ_FLAGS:-} "$dir/corpus" >"$dir/log" 2>&1
  status=$?
  elapsed=$((SECONDS - started))
  # With FUZZ_FLAGS="-fork=1 -ignore_crashes=1 …" a run goes on after a finding; its inputs still count.
  ls "$dir"/crash-* "$dir"/leak-* "$dir"/oom-* "$dir"/timeout-* >/dev/null 2>&1 && status=1
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) .*/cov \1 ft \2/p' <<<"$last")
  speed=$([ -n "$runs" ] && [ "$elapsed" -gt 0 ] && echo $((runs / elapsed)))
  line=$(printf '%-13s %-5s  %5ss  %10s execs  %6s exec/s  %s' "$t" "$([ $status = 0 ] && echo ok || echo CRASH)" \
         "$elapsed" "${runs:-?}" "${speed:-?}" "${cov:-?}")
  summary+=("$line")
  if [ $status != 0 ]; then
    failed+=("$t")
    grep -E 'ERROR|SUMMARY|Fatal error|Test unit written|crash-|oom-|timeout-' "$dir/log" | sort -u | head -8 | sed 's/^/    /'
  fi
done
echo
echo "target        result  time       executions       speed  coverage (edges, features)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs and logs under $WORK/)"
  exit 1
fi
