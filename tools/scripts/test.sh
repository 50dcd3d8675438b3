#!/usr/bin/env bash
# The whole test suite: set-up (packages, configure, build with warnings as
# errors), the format check, then every CTest test (unit, pg, e2e). Tests that
# need PostgreSQL start and stop their own throwaway cluster.
# Usage: bash tools/scripts/test.sh [ctest arguments, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/scripts/setup.sh -DVEMAKIN_WARNINGS_AS_ERRORS=ON -DVEMAKIN_BUILD_TESTS=ON

echo "== clang-format check"
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

echo "== tests"
build_dir=${VEMAKIN_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" "$@"
