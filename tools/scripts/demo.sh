#!/usr/bin/env bash
# The main job, one command on a fresh Debian 12 machine: builds, starts
# `vemakin-server --dev` (a private PostgreSQL, migrated and seeded), shows
# /health and the index check, then stops. With --serve it keeps serving on
# ${VEMAKIN_LISTEN:-127.0.0.1:8000} until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
serve=0
[ "${1:-}" = "--serve" ] && serve=1
bash tools/scripts/setup.sh
build_dir=${VEMAKIN_BUILD_DIR:-build}
listen=${VEMAKIN_LISTEN:-127.0.0.1:8000}
if [ "$(id -u)" -eq 0 ]; then
  data_dir=${VEMAKIN_DEV_DATA_DIR:-/var/lib/vemakin/dev}
else
  data_dir=${VEMAKIN_DEV_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/vemakin/dev}
fi

"$build_dir/tools/vemakin-server" --dev --data-dir "$data_dir" --listen "$listen" &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT

echo "== waiting for http://$listen/health"
for _ in $(seq 1 240); do
  if curl -fsS "http://$listen/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 $server 2>/dev/null; then echo "vemakin-server exited"; exit 1; fi
  sleep 0.5
done
echo "== GET /health"
curl -sS -i "http://$listen/health"
echo
echo "== vemakin-admin migrate verify (the dev database)"
"$build_dir/tools/vemakin-admin" --database-url "$(cat "$data_dir/database_url")" migrate verify
echo "== vemakin-admin migrate status"
"$build_dir/tools/vemakin-admin" --database-url "$(cat "$data_dir/database_url")" migrate status

if [ $serve -eq 1 ]; then
  echo "== serving on http://$listen (Ctrl-C stops the server and its PostgreSQL)"
  wait $server
else
  echo "== stopping (run with --serve to keep it running)"
fi
