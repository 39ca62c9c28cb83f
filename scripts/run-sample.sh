#!/usr/bin/env bash
# Sets everything up, builds in release mode and runs mod_wsgi-express
# serving examples/hello.wsgi on http://127.0.0.1:8000 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
MOD_WSGI_PROFILE=release bash scripts/setup.sh
app="$PWD/examples/hello.wsgi"
# Apache's children run as an unprivileged user; a checkout under /root is
# unreadable to it, so serve a copy from a world-readable place.
if [ "$(id -u)" = 0 ] && ! runuser -u www-data -- test -r "$app" 2>/dev/null; then
  dir=$(mktemp -d /tmp/mod_wsgi-rs-sample.XXXXXX)
  chmod 755 "$dir"
  cp "$app" "$dir/hello.wsgi"
  chmod 644 "$dir/hello.wsgi"
  app="$dir/hello.wsgi"
fi
# The daemon runs in the application's directory (its home).
exec target/release/mod_wsgi-express start-server "$app" --host 127.0.0.1 --port "${PORT:-8000}" \
  --working-directory "$(dirname "$app")" "$@"
