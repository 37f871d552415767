#!/usr/bin/env bash
# `systemd-analyze verify` on deploy/systemd/*.service. verify needs ExecStart's binary to exist,
# so it checks a copy of each unit whose /usr/local/bin/emporium is the binary given (CI's build).
# Usage: deploy/test/systemd-check.sh path/to/emporium
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=$(realpath "${1:?usage: $0 path/to/emporium}")
test -x "$binary"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in deploy/systemd/*.service; do
  grep -q '^ExecStart=/usr/local/bin/emporium ' "$unit" || {
    echo "systemd-check: $unit has no ExecStart=/usr/local/bin/emporium …" >&2; exit 1; }
  sed "s#^ExecStart=/usr/local/bin/emporium #ExecStart=$binary #" "$unit" > "$tmp/$(basename "$unit")"
done
# Any output is a finding (an unknown directive, a bad value, a missing unit): fail on it.
out=$(cd "$tmp" && systemd-analyze verify --man=no ./*.service 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi
echo "systemd-analyze verify: $(cd "$tmp" && echo ./*.service | sed 's#\./##g') ($(systemd-analyze --version | head -n 1))"
