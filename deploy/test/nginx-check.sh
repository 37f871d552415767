#!/usr/bin/env bash
# `nginx -t` on deploy/nginx/emporium.conf, as an operator installs it, with the paths an
# operator edits pointed at a throwaway self-signed certificate, log folder and media folder.
set -euo pipefail
cd "$(dirname "$0")/../.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/logs" "$tmp/media"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=api.shop.example \
  -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" 2>/dev/null

# Each path must be found exactly once: a renamed placeholder fails here rather than being
# checked with the shipped path.
site=deploy/nginx/emporium.conf
for placeholder in /etc/emporium/tls/fullchain.pem /etc/emporium/tls/privkey.pem \
  /var/lib/emporium/media/ /var/log/nginx/emporium.access.log /var/log/nginx/emporium.error.log; do
  count=$(grep -cF "$placeholder" "$site" || true)
  if [ "$count" != 1 ]; then
    echo "nginx-check: $placeholder appears $count times in $site (expected once)" >&2
    exit 1
  fi
done
sed -e "s#/etc/emporium/tls/#$tmp/#" \
    -e "s#/var/lib/emporium/media/#$tmp/media/#" \
    -e "s#/var/log/nginx/#$tmp/logs/#" \
    "$site" > "$tmp/emporium.conf"

cat > "$tmp/nginx.conf" <<CONF
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events {}
http {
    include /etc/nginx/mime.types;
    access_log $tmp/logs/access.log;
    include $tmp/emporium.conf;
}
CONF
out=$(nginx -t -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log" 2>&1) || { echo "$out" >&2; exit 1; }
# A warning (a deprecated directive, a duplicate) fails too.
if grep -q "\[warn\]" <<<"$out"; then echo "$out" >&2; exit 1; fi
echo "nginx -t: deploy/nginx/emporium.conf is valid ($(nginx -v 2>&1))"
