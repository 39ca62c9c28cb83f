#!/usr/bin/env bash
# Installs what building and testing mod_wsgi-rs needs on Debian/Ubuntu
# (Apache with its development files, the system Python with its headers,
# Flask and Django for the framework tests, Paste Deploy and coverage.py (--enable-coverage) for the
# mod_wsgi-express tests, prometheus_client (its OpenMetrics parser reads
# the wsgi-metrics page in the endpoint tests), htpasswd, curl, openssl (test certificates), libclang
# for the bindings check, g++ for libFuzzer in the fuzz stage, and as root
# dpkg-dev, lintian and Debian's own mod_wsgi for the Debian package's test),
# then builds the module and mod_wsgi-express. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(apache2 apache2-dev apache2-utils python3 python3-dev python3-venv python3-flask python3-django python3-pastedeploy python3-prometheus-client python3-coverage curl openssl libclang-dev g++)
# tests/packaging_deb.rs (root only) builds, lints and installs the .deb beside Debian's mod_wsgi.
[ "$(id -u)" = 0 ] && packages+=(dpkg-dev lintian libapache2-mod-wsgi-py3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "mod_wsgi-rs needs: ${missing[*]}" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }

# Build against the system Python: Apache's children run as www-data, which
# cannot read a Python under /root (pyenv).
export PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}"
profile="${MOD_WSGI_PROFILE:-debug}"
if [ "$profile" = release ]; then
  cargo build --release
else
  cargo build
fi
