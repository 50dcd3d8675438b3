#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (tests/fuzz/CMakeLists.txt).
#   run.sh build BUILD_DIR            configure with clang++-14 and build every target
#   run.sh run BIN SEEDS WORK SECONDS run one target for SECONDS from the seed corpus
#                                     (new inputs go to WORK/corpus, a crash to
#                                     WORK/artifacts); exits non-zero on a crash,
#                                     a leak, an invariant broken or a timeout
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

case "${1:-}" in
  build)
    build_dir=$2
    cxx=$(command -v clang++-14 || command -v clang++ || true)
    if [ -z "$cxx" ]; then
      echo "clang++-14 not found (Debian: clang-14 libclang-rt-14-dev)" >&2
      exit 1
    fi
    cmake -S "$here" -B "$build_dir" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build_dir" -j"${VEMAKIN_FUZZ_JOBS:-$(nproc)}"
    ;;
  run)
    bin=$2 seeds=$3 work=$4 seconds=$5
    mkdir -p "$work/corpus" "$work/artifacts"
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    # -max_len: the HTTP target's caps (4 KiB bodies, 2 KiB heads) need room
    # past them; -timeout: one input taking 10 s is a hang.
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
    ;;
  *)
    sed -n '2,8p' "$0" >&2
    exit 2
    ;;
esac
