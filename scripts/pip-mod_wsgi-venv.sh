#!/usr/bin/env bash
# Creates, once, a virtualenv of the system Python with pip's mod_wsgi 6.1.1
# and mod-wsgi-telemetry 1.1.0 installed (both put a `mod_wsgi` package on
# sys.path, which must stay importable beside our module), readable by the
# Apache user, and prints its path. Needs apache2-dev and python3-venv
# (scripts/setup.sh) and PyPI. Reused while it imports; MOD_WSGI_PIP_VENV
# chooses the directory.
set -euo pipefail
dir="${MOD_WSGI_PIP_VENV:-/var/tmp/mod_wsgi-rs/pip-venv}"
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if ! "$dir/bin/python" -c 'import mod_wsgi.express.runtime, mod_wsgi.telemetry' 2>/dev/null; then
  rm -rf "$dir"
  /usr/bin/python3 -m venv "$dir" >&2
  "$dir/bin/pip" install -q --disable-pip-version-check "mod_wsgi==6.1.1" "mod-wsgi-telemetry==1.1.0" >&2
  chmod -R a+rX "$(dirname "$dir")"
fi
echo "$dir"
