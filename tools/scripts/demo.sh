#!/usr/bin/env bash
# The main job, one command on a fresh Debian 12 machine: a short story of a
# film crew, told by the real programs. It builds only what it runs (the
# server, the admin tool and the CLI), starts `vemakin-server --dev` (a
# private PostgreSQL, migrated, with the gear catalog), and then: a director
# plans a shoot offline with no account, registers (her work joins the
# account), shares the project with a camera operator, who adds a shot on his
# laptop; both sync and prove their stores equal to the server. The server's
# JSON logs and every command's full output go to files named at the end;
# the screen shows the steps and their results. With --serve the server keeps
# running on ${VEMAKIN_LISTEN:-127.0.0.1:8000} until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
serve=0
[ "${1:-}" = "--serve" ] && serve=1
build_dir=${VEMAKIN_BUILD_DIR:-build}
listen=${VEMAKIN_LISTEN:-127.0.0.1:8000}
if [ "$(id -u)" -eq 0 ]; then
  data_dir=${VEMAKIN_DEV_DATA_DIR:-/var/lib/vemakin/dev}
else
  data_dir=${VEMAKIN_DEV_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/vemakin/dev}
fi
logs=$(mktemp -d "${TMPDIR:-/tmp}/vemakin-demo.XXXXXX")
work="$logs/stores"
mkdir -p "$work"

bold="" plain=""
if [ -t 1 ]; then
  bold=$(tput bold 2>/dev/null || true)
  plain=$(tput sgr0 2>/dev/null || true)
fi
n=0
step() {
  n=$((n + 1))
  printf '\n%s%d. %s%s\n' "$bold" "$n" "$1" "$plain"
}
say() { printf '   %s\n' "$*"; }
# run LABEL CMD...: runs a command, keeps its full output in the log, shows
# the command and the last line it printed.
run() {
  local label=$1
  shift
  printf '   $ %s\n' "$label"
  if ! "$@" > "$logs/step-$n.out" 2>&1; then
    sed 's/^/     /' "$logs/step-$n.out"
    say "failed (full output: $logs/step-$n.out)"
    exit 1
  fi
  cat "$logs/step-$n.out" >> "$logs/commands.log"
}
json_field() { sed -E "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/" "$logs/step-$n.out" | tail -n 1; }

step "Build the server, the admin tool and the CLI"
VEMAKIN_SETUP=run VEMAKIN_TARGETS="vemakin-server vemakin-admin vemakin" \
  bash tools/scripts/setup.sh
say "built into $build_dir/tools/"
server_bin="$build_dir/tools/vemakin-server"
admin="$build_dir/tools/vemakin-admin"
cli="$build_dir/tools/vemakin"

step "Start vemakin-server --dev (its own PostgreSQL in $data_dir)"
# Another server on the port (an installed vemakin-server listens there by
# default) must not be mistaken for ours: the story would run against it.
if curl -fsS --max-time 5 -o /dev/null "http://$listen/health" 2>/dev/null; then
  say "something already serves http://$listen; stop it or set VEMAKIN_LISTEN=127.0.0.1:PORT"
  exit 1
fi
"$server_bin" --dev --data-dir "$data_dir" --listen "$listen" 2> "$logs/server.log" &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
# Ready when our server says so in its log (the first run creates the cluster).
for _ in $(seq 1 600); do
  if grep -q "vemakin-server listening on" "$logs/server.log" 2>/dev/null; then break; fi
  if ! kill -0 $server 2>/dev/null; then
    tail -n 20 "$logs/server.log"
    say "vemakin-server exited (log: $logs/server.log)"
    exit 1
  fi
  sleep 0.2
done
grep -q "vemakin-server listening on" "$logs/server.log" ||
  { say "vemakin-server did not start (log: $logs/server.log)"; exit 1; }
curl -fsS --max-time 10 "http://$listen/health" > "$logs/health.json"
say "listening on http://$listen; GET /health: $(cat "$logs/health.json")"
database_url=$(cat "$data_dir/database_url")
"$admin" --database-url "$database_url" migrate verify > "$logs/migrate-verify.txt"
say "vemakin-admin migrate verify: $(grep -c ' valid' "$logs/migrate-verify.txt" || true) indexes valid" \
  "(details: $logs/migrate-verify.txt)"

stamp=$(date +%s)-$$
director="director-$stamp@example.com"
operator="operator-$stamp@example.com"
passphrase="demo passphrase"

step "The director plans a shoot on her laptop: offline, no account"
d() { "$cli" --db "$work/director.db" "$@"; }
o() { "$cli" --db "$work/operator.db" "$@"; }
run 'vemakin project add "Neon Paradox"' d --json project add "Neon Paradox"
project=$(json_field id)
say "project $project"
run 'vemakin shot add --title "Opening crane" --date 2026-12-01 --start-time 06:30' \
  d --json shot add --project "$project" --title "Opening crane" --date 2026-12-01 --start-time 06:30
run 'vemakin shot add --title "Rooftop chase" --date 2026-12-01 --start-time 21:00' \
  d --json shot add --project "$project" --title "Rooftop chase" --date 2026-12-01 --start-time 21:00
run 'vemakin status' d --json status
say "mode $(json_field mode), $(json_field pending_mutations) changes waiting for a server"

step "She registers: her offline work joins the account"
# The passphrase travels on standard input, never in a command line.
export VEMAKIN_DEMO_PASSPHRASE="$passphrase"
run "vemakin register --server http://$listen --email $director --password-stdin" \
  bash -c 'printf "%s\n" "$VEMAKIN_DEMO_PASSPHRASE" | "$0" --db "$1" --json register --server "$2" --email "$3" --password-stdin --name Director' \
  "$cli" "$work/director.db" "http://$listen" "$director"
run 'vemakin status' d --json status
say "mode $(json_field mode), $(json_field pending_mutations) changes waiting"

step "The camera operator signs up; she shares the project with him"
run "vemakin register --email $operator ..." \
  bash -c 'printf "%s\n" "$VEMAKIN_DEMO_PASSPHRASE" | "$0" --db "$1" --json register --server "$2" --email "$3" --password-stdin --name Operator' \
  "$cli" "$work/operator.db" "http://$listen" "$operator"
run "vemakin member add --project ... --email $operator --role editor" \
  d member add --project "$project" --email "$operator" --role editor
run 'vemakin sync   (the operator)' o --json sync
say "he received $(json_field snapshot_rows) rows of the project"

step "He adds a pickup shot on his laptop and syncs"
run 'vemakin shot add --title "Pickup: neon sign"' \
  o --json shot add --project "$project" --title "Pickup: neon sign" --date 2026-12-02
run 'vemakin sync' o --json sync
say "pushed $(json_field pushed) change"

step "The director syncs and sees the crew's shot"
run 'vemakin sync' d --json sync
say "pulled $(json_field pulled) change(s)"
run 'vemakin shot list' d shot list --project "$project"
sed 's/^/     /' "$logs/step-$n.out"

step "Both stores prove they equal the server (order-independent digests)"
run 'vemakin verify   (the director)' d verify
say "director: $(grep -c '^ok' "$logs/step-$n.out") tables equal"
run 'vemakin verify   (the operator)' o verify
say "operator: $(grep -c '^ok' "$logs/step-$n.out") tables equal"

printf '\n'
say "server log (JSON lines): $logs/server.log"
say "every command's output:  $logs/commands.log"
if [ $serve -eq 1 ]; then
  say "serving on http://$listen (Ctrl-C stops the server and its PostgreSQL)"
  wait $server
else
  say "stopping the server (run with --serve to keep it running)"
fi
