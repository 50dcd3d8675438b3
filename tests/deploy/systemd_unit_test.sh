#!/usr/bin/env bash
# The systemd unit of deploy/systemd is one systemd accepts: every directive
# known and well-formed (systemd-analyze verify prints a line for each it
# ignores), with ExecStart pointed at the binary just built.
# Usage: systemd_unit_test.sh UNIT_FILE SERVER_BINARY
set -euo pipefail
unit=$1 server=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|^ExecStart=/usr/bin/vemakin-server|ExecStart=$server|" "$unit" > "$work/vemakin-server.service"
grep -q "^ExecStart=$server" "$work/vemakin-server.service"
out=$(systemd-analyze verify "$work/vemakin-server.service" 2>&1) || { echo "$out"; exit 1; }
# Lines about other units on this machine are not ours.
ours=$(printf '%s\n' "$out" | grep "vemakin-server.service" || true)
if [ -n "$ours" ]; then
  echo "$ours"
  exit 1
fi
echo "systemd accepts $unit"
