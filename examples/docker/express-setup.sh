#!/bin/sh
# Writes the mod_wsgi-express server root for the container (see Dockerfile and
# docs/containers.md). Run at image build time, and again by entrypoint.sh when the
# run-time $PORT differs from the build-time one. Logs go to stdout/stderr.
set -eu
app_dir="${APP_DIR:-/app}"
exec mod_wsgi-express setup-server "$app_dir/app.wsgi" \
    --server-root "${EXPRESS_ROOT:-/app/.express}" \
    --working-directory "$app_dir" \
    --port "${PORT:-8080}" \
    --log-to-terminal \
    --access-log
