#!/usr/bin/env bash
# The main job, one command on a fresh Debian 12 machine: builds, starts
# `vemakin-server --dev` (a private PostgreSQL, migrated and seeded), shows
# /health and the index check, then plays a short sync story with two client
# stores (a guest's offline work claimed into an account, shared with a
# second account, edited on both sides, verified equal), then stops. With
# --serve it keeps serving on ${VEMAKIN_LISTEN:-127.0.0.1:8000} until Ctrl-C.
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

echo "== sync: a guest works offline, registers, shares; a crew member edits; both verify"
cli="$build_dir/tools/vemakin"
work=$(mktemp -d)
stamp=$(date +%s)-$$
project=$("$cli" --db "$work/director.db" --json project add "Neon Paradox" | sed -E 's/.*"id":"([^"]+)".*/\1/')
"$cli" --db "$work/director.db" shot add --project "$project" --title "Opening crane" --date 2026-12-01 >/dev/null
"$cli" --db "$work/director.db" register --server "http://$listen" \
  --email "director-$stamp@example.com" --password "demo passphrase" --name Director
"$cli" --db "$work/crew.db" register --server "http://$listen" \
  --email "crew-$stamp@example.com" --password "demo passphrase" --name Crew
"$cli" --db "$work/director.db" member add --project "$project" --email "crew-$stamp@example.com" --role editor
"$cli" --db "$work/crew.db" sync
"$cli" --db "$work/crew.db" shot add --project "$project" --title "Night exterior" >/dev/null
"$cli" --db "$work/crew.db" sync
"$cli" --db "$work/director.db" sync
"$cli" --db "$work/director.db" shot list --project "$project"
"$cli" --db "$work/director.db" verify
rm -rf "$work"

if [ $serve -eq 1 ]; then
  echo "== serving on http://$listen (Ctrl-C stops the server and its PostgreSQL)"
  wait $server
else
  echo "== stopping (run with --serve to keep it running)"
fi
