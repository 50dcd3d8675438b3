#!/usr/bin/env bash
# Long fuzzing runs (the test suite runs each target for 20 s): builds the
# fuzz targets with clang-14 and runs each in turn for SECONDS (default 600),
# keeping the corpus it grows in WORK/<target>/corpus so later runs continue
# from it. Prints one summary line per target (runs, corpus size, result);
# docs/PERFORMANCE.md "Fuzzing" records the runs.
# Usage: bash tools/scripts/fuzz-long.sh [SECONDS] [WORK] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
work=${2:-build-fuzz-long}
shift $(($# > 2 ? 2 : $#))
mkdir -p "$work"
work=$(cd "$work" && pwd)
bash tests/fuzz/run.sh build "$work/build" || exit 1
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=($(sed -n 's/^  \([a-z_]*\)$/\1/p; s/^  \([a-z_]*\))$/\1/p' tests/fuzz/targets.cmake))
fi
failed=0
for t in "${targets[@]}"; do
  log="$work/$t.log"
  start=$(date +%s)
  bash tests/fuzz/run.sh run "$work/build/fuzz_$t" "tests/fuzz/corpus/$t" "$work/$t" "$seconds" \
    >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(find "$work/$t/corpus" -type f | wc -l)
  bytes=$(du -sk "$work/$t/corpus" | cut -f1)
  crashes=$(find "$work/$t/artifacts" -type f | wc -l)
  printf '%-18s %5ss  %12s runs  corpus %5s files %6s KiB  artifacts %s  rc %s\n' \
    "$t" "$(($(date +%s) - start))" "${runs:-?}" "$files" "$bytes" "$crashes" "$rc"
  ((rc == 0)) || failed=1
done
exit $failed
