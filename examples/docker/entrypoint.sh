#!/bin/sh
# Container start command: runs Apache in the foreground from the server root written
# at build time; regenerates it first only if $PORT changed since then.
set -eu
root="${EXPRESS_ROOT:-/app/.express}"
if ! grep -qx "MOD_WSGI_HTTP_PORT='${PORT:-8080}'" "$root/apachectl" 2>/dev/null; then
    "${APP_DIR:-/app}/express-setup.sh" >&2
fi
exec "$root/apachectl" start -DFOREGROUND
