#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: Rust unit tests and the
# integration tests that start real Apache servers (event, worker, prefork).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYO3_PYTHON="${PYO3_PYTHON:-/usr/bin/python3}"
# Each integration test starts its own Apache; two at a time suit a 2-core machine.
cargo test --no-fail-fast -- --test-threads="${TEST_THREADS:-2}"
