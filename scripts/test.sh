#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: Rust unit tests and the
# integration tests that start real Apache servers (event, worker, prefork).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
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
