#!/usr/bin/env bash
# Installs the Debian packages the build needs (only those missing), then
# configures and builds into ${VEMAKIN_BUILD_DIR:-build}.
#   VEMAKIN_SETUP=all (default): everything, for the test suite (test.sh).
#   VEMAKIN_SETUP=run: only what the programs need to build and run, and
#     only the targets named by VEMAKIN_TARGETS (demo.sh); a new build folder
#     is configured without the tests.
# Usage: bash tools/scripts/setup.sh [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${VEMAKIN_SETUP:-all}

packages=(
  g++ cmake pkg-config make        # toolchain
  libsqlite3-dev                   # client mirror
  libpqxx-dev                      # server <-> PostgreSQL (6.4)
  libcpp-httplib-dev               # HTTP client of the client library and tests
  nlohmann-json3-dev               # JSON codec
  libboost-dev                     # Asio + Beast: the server's HTTP listener
  libsodium-dev                    # argon2id, random tokens
  zlib1g-dev                       # gzip of large sync responses
  libssl-dev                       # SHA-256 of the sync digests
  libcli11-dev                     # command-line parsing of the tools
  postgresql                       # server binaries for --dev and the test cluster
  curl                             # the demo's health probe
)
test_packages=(
  libgtest-dev libgmock-dev        # test framework
  pgbouncer                        # transaction-mode pooler in front of the test cluster (Pooler.* tests)
  haproxy                          # load balancer in front of three server instances (LoadBalancer.* tests)
  clang-format                     # style check in the test run
  clang-14 libfuzzer-14-dev libclang-rt-14-dev  # libFuzzer targets (build-fuzz/)
  openssl                          # the TLS tests make their own CA and certificates
  systemd                          # systemd-analyze verify of deploy/systemd's unit
  python3                          # the Python binding (bindings/python) and its tests
  dpkg-dev                         # cpack -G DEB: dpkg-shlibdeps fills the packages' Depends
  lintian                          # the Debian packages' check (Packaging.* test)
)

[ "$mode" = run ] || packages+=("${test_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "== installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_dir=${VEMAKIN_BUILD_DIR:-build}
if [ "$mode" = run ]; then
  configure=()
  [ -f "$build_dir/CMakeCache.txt" ] || configure=(-DVEMAKIN_BUILD_TESTS=OFF)
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${configure[@]}" "$@" >/dev/null
  # shellcheck disable=SC2086
  cmake --build "$build_dir" -j"$(nproc)" --target ${VEMAKIN_TARGETS:?names the targets to build} \
    > "$build_dir/setup-build.log" 2>&1 ||
    { tail -n 40 "$build_dir/setup-build.log"; echo "build failed (log: $build_dir/setup-build.log)"; exit 1; }
else
  echo "== configuring and building in $build_dir"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$build_dir" -j"$(nproc)"
fi
