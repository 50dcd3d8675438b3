#!/usr/bin/env bash
# The Debian packages as an administrator and a developer get them:
#  1. `cpack -G DEB` builds vemakin-server, libvemakin-client,
#     libvemakin-client-dev and vemakin;
#  2. their metadata and contents are what docs/packaging.md says (names,
#     dependencies, maintainer scripts, conffiles, files, stripped binaries),
#     and lintian finds no error (when installed);
#  3. the binaries extracted from them (dpkg-deb -x) run against a throwaway
#     PostgreSQL database: the server migrates it at start (--migrate), the
#     admin tool sees it migrated, the CLI registers, syncs and verifies, and
#     a C program built with the -dev package's pkg-config file syncs through
#     the extracted shared library; systemd accepts the packaged unit.
# Usage: deb_test.sh BUILD_DIR SOURCE_DIR WORK_DIR   (VEMAKIN_TEST_PG_ENV: the cluster)
set -euo pipefail
build=$1 source=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
server_pid=""
db=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$db" ]; then psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---------------------------------------------------------------- 1. build
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" > "$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; fail "cpack failed"; }
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
[ -n "$version" ] || fail "no version in CPackConfig.cmake"
declare -A deb
for p in vemakin-server libvemakin-client libvemakin-client-dev vemakin; do
  deb[$p]=$(ls "$work/out/${p}_${version}-"*.deb 2>/dev/null) || fail "no package $p"
  printf '%-24s %9d bytes  %s\n' "$p" "$(stat -c %s "${deb[$p]}")" "$(basename "${deb[$p]}")"
done

# ------------------------------------------------------- 2. metadata, files
# Listings are read into files first: a `| grep -q` that stops reading early
# would fail the pipeline under pipefail.
for p in "${!deb[@]}"; do
  dpkg-deb -c "${deb[$p]}" > "$work/$p.contents"
  mkdir -p "$work/control/$p"
  dpkg-deb -e "${deb[$p]}" "$work/control/$p"
done
field() { dpkg-deb -f "${deb[$1]}" "$2"; }
entry() { awk -v f="./$2" '$6 == f' "$work/$1.contents"; }
has_file() { [ -n "$(entry "$1" "$2")" ] || fail "$1 lacks /$2"; }
lacks_file() { [ -z "$(entry "$1" "$2")" ] || fail "$1 has /$2"; }
mode_of() { entry "$1" "$2" | awk '{print $1}'; }
control_file() { cat "$work/control/$1/$2" 2>/dev/null || fail "$1 has no $2"; }

for p in "${!deb[@]}"; do
  [ "$(field "$p" Package)" = "$p" ] || fail "$p: Package field"
  [ "$(field "$p" Version)" = "$version-1" ] || fail "$p: Version $(field "$p" Version)"
  [ "$(field "$p" Architecture)" = "$(dpkg --print-architecture)" ] || fail "$p: Architecture"
  field "$p" Maintainer | grep -q '@' || fail "$p: Maintainer"
  has_file "$p" "usr/share/doc/$p/copyright"
  has_file "$p" "usr/share/doc/$p/changelog.Debian.gz"
done

for f in usr/bin/vemakin-server usr/bin/vemakin-admin lib/systemd/system/vemakin-server.service \
         etc/vemakin/server.env usr/share/doc/vemakin-server/deployment.md; do
  has_file vemakin-server "$f"
done
lacks_file vemakin-server usr/bin/vemakin
field vemakin-server Depends | grep -q 'adduser' || fail "vemakin-server does not depend on adduser"
field vemakin-server Depends | grep -q 'libpqxx' || fail "vemakin-server's Depends lack libpqxx"
control_file vemakin-server conffiles | grep -qx /etc/vemakin/server.env ||
  fail "server.env is not a conffile"
control_file vemakin-server postinst | grep -q 'adduser --system' || fail "postinst adds no system user"
control_file vemakin-server postrm | grep -q 'purge' || fail "postrm ignores purge"
for p in "${!deb[@]}"; do
  for script in preinst postinst prerm postrm; do
    [ -f "$work/control/$p/$script" ] || continue
    sh -n "$work/control/$p/$script" || fail "$p's $script is not valid sh"
  done
done
# The settings will hold the database password: root-only until postinst.
[ "$(mode_of vemakin-server etc/vemakin/server.env)" = "-rw-------" ] ||
  fail "server.env ships as $(mode_of vemakin-server etc/vemakin/server.env)"
[ "$(mode_of vemakin-server etc/vemakin/)" = "drwxr-x---" ] ||
  fail "/etc/vemakin ships as $(mode_of vemakin-server etc/vemakin/)"

has_file libvemakin-client "usr/lib/libvemakin.so.$version"
has_file libvemakin-client usr/lib/libvemakin.so.0
lacks_file libvemakin-client usr/lib/libvemakin.so
control_file libvemakin-client shlibs | grep -q '^libvemakin 0 libvemakin-client' ||
  fail "libvemakin-client's shlibs: $(control_file libvemakin-client shlibs)"
control_file libvemakin-client triggers | grep -q 'ldconfig' || fail "no ldconfig trigger"

for f in usr/include/vemakin/vemakin.h usr/include/vemakin/client/store.h usr/lib/libvemakin.so \
         usr/lib/pkgconfig/vemakin.pc usr/lib/cmake/vemakin/vemakinConfig.cmake \
         usr/lib/libvemakin_client.a; do
  has_file libvemakin-client-dev "$f"
done
field libvemakin-client-dev Depends | grep -q "libvemakin-client (= $version-1)" ||
  fail "the -dev package does not pin its library: $(field libvemakin-client-dev Depends)"
field libvemakin-client-dev Depends | grep -q "pkg-config" ||
  fail "the -dev package does not bring pkg-config"
dpkg-deb --fsys-tarfile "${deb[libvemakin-client-dev]}" | tar -xO ./usr/lib/pkgconfig/vemakin.pc \
  > "$work/vemakin.pc"
grep -qx 'prefix=/usr' "$work/vemakin.pc" || fail "the packaged vemakin.pc: $(head -5 "$work/vemakin.pc")"
has_file vemakin usr/bin/vemakin

root="$work/root"
for p in "${!deb[@]}"; do dpkg-deb -x "${deb[$p]}" "$root"; done
for f in usr/bin/vemakin-server usr/bin/vemakin-admin usr/bin/vemakin "usr/lib/libvemakin.so.$version"; do
  if readelf -S "$root/$f" | grep -q '\.debug_info'; then fail "/$f is not stripped"; fi
done
# The library exports the C API and nothing else.
others=$(nm -D --defined-only "$root/usr/lib/libvemakin.so.0" | awk '{print $3}' |
         grep -v '^vemakin_' | grep -v '^VEMAKIN_0$' || true)
[ -z "$others" ] || fail "libvemakin exports more than the C API: $(echo $others | head -c 300)"
grep -q '^User=vemakin$' "$root/lib/systemd/system/vemakin-server.service" ||
  fail "the packaged unit does not run as the vemakin user"

if command -v lintian >/dev/null; then
  rc=0
  lintian --tag-display-limit 0 "${deb[@]}" > "$work/lintian.txt" 2>&1 || rc=$?
  if [ "$rc" -ge 2 ] || grep -qi 'internal error' "$work/lintian.txt"; then
    cat "$work/lintian.txt"
    fail "lintian did not run (exit $rc)"
  fi
  grep -v 'root privileges' "$work/lintian.txt" || true
  if grep -q '^E: ' "$work/lintian.txt"; then fail "lintian reports errors"; fi
  echo "lintian: $(grep -c '^W: ' "$work/lintian.txt" || true) warning(s), no error"
else
  echo "lintian is not installed: its verdict is not checked"
fi

bash "$source/tests/deploy/systemd_unit_test.sh" "$root/lib/systemd/system/vemakin-server.service" \
  "$root/usr/bin/vemakin-server"

# ------------------------------------------- 3. the extracted binaries run
set -a
# shellcheck disable=SC1090
. "${VEMAKIN_TEST_PG_ENV:?names the environment file of the pg_cluster fixture}"
set +a
db="t_pkg_$$"
psql -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" > /dev/null
url="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$db"

mkfifo "$work/server.err"
# As the packaged unit runs it: settings in the environment (the password
# out of argv), migrations asked for by VEMAKIN_MIGRATE.
DATABASE_URL="$url" VEMAKIN_MIGRATE=1 VEMAKIN_LISTEN=127.0.0.1:0 "$root/usr/bin/vemakin-server" \
  2> "$work/server.err" &
server_pid=$!
exec 3< "$work/server.err"
server=""
while IFS= read -r -t 120 line <&3; do
  echo "$line" >> "$work/server.log"
  case $line in *"listening on "*) server=${line##*listening on }; break ;; esac
done
[ -n "$server" ] || { cat "$work/server.log"; fail "the extracted server did not start"; }
cat <&3 >> "$work/server.log" &  # keep draining its log
echo "extracted vemakin-server migrated $db and listens on $server"

DATABASE_URL="$url" "$root/usr/bin/vemakin-admin" migrate verify > "$work/verify.txt" ||
  { cat "$work/verify.txt"; fail "vemakin-admin migrate verify"; }

cli() { "$root/usr/bin/vemakin" --db "$work/cli.db" "$@"; }
cli --version | grep -qx "vemakin $version" || fail "vemakin --version"
project=$(cli --json project add "Packaged film" | sed -E 's/.*"id":"([^"]+)".*/\1/')
cli --json shot add --project "$project" --title "Opening" > /dev/null
email="pkg-$$-$RANDOM@example.com"
echo "correct horse battery" |
  cli --json register --server "$server" --email "$email" --password-stdin --name Packager \
  > "$work/register.json" || fail "register: $(cat "$work/register.json")"
cli --json verify | grep -q '"equal":true' || fail "the CLI's store differs from the server"

flags=$(PKG_CONFIG_PATH="$root/usr/lib/pkgconfig" pkg-config --define-prefix --cflags --libs vemakin)
include_dir=$(echo "$flags" | sed -E 's/.*-I([^ ]+).*/\1/')
[ "$(realpath "$include_dir")" = "$(realpath "$root/usr/include")" ] ||
  fail "pkg-config's flags do not follow the unpacked tree: $flags"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror "$source/tests/embedding/c_api_test.c" -o "$work/c_api_test" $flags -lpthread
mkdir "$work/c-store"
LD_LIBRARY_PATH="$root/usr/lib" "$work/c_api_test" "$work/c-store" "$server" "c-$email" ||
  fail "the C program against the packaged library"
LD_LIBRARY_PATH="$root/usr/lib" ldd "$work/c_api_test" > "$work/ldd.txt"
grep -q "libvemakin.so.0 => $root/usr/lib/libvemakin.so.0" "$work/ldd.txt" ||
  fail "the C program did not load the packaged library: $(cat "$work/ldd.txt")"
echo "packages built, checked and run"
