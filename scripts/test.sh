#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: Rust unit tests and the
# integration tests that start real Apache servers (event, worker, prefork).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# pip's mod_wsgi 6.1.1 and mod-wsgi-telemetry 1.1.0 in a venv under
# /var/tmp/mod_wsgi-rs/ (the reference runs; tests/telemetry.rs runs that
# package's `mod_wsgi-telemetry dump` against our records).
bash scripts/pip-mod_wsgi-venv.sh >/dev/null
export PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}"
# `cargo test` does not rebuild the cdylib the integration tests load into
# Apache: setup.sh's `cargo build` above did. Each integration test starts its
# own Apache; two at a time suit a 2-core machine.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --no-fail-fast -- --test-threads="${TEST_THREADS:-2}" 2>&1 | tee "$log" || status=$?
# One closing line for the whole suite.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
