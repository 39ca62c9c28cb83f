#!/usr/bin/env bash
# Builds the cargo-fuzz targets under fuzz/ (libFuzzer, address sanitizer)
# and runs each for SECONDS (default 30) from its committed seed corpus;
# fails on any crash, panic, leak, hang (a run over 10 s), over-allocation
# (one allocation over 8 MiB, or 2 GiB resident) or failed invariant.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: every target)
#
# Works on stable Rust: cargo-fuzz passes -Z flags, which RUSTC_BOOTSTRAP=1
# allows; the address sanitizer runtime ships with stable's rust-std for
# x86_64-unknown-linux-gnu. Needs `cargo install cargo-fuzz --locked`.
# Inputs the fuzzer finds go to a temporary directory (never into
# fuzz/corpus, which holds only the seeds); a failing input is written to
# fuzz/artifacts/TARGET/ and its path printed. See docs/security.md,
# "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."
export PYO3_PYTHON=${PYO3_PYTHON:-/usr/bin/python3}
export RUSTC_BOOTSTRAP=1
seconds=${1:-30}
shift || true
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
  exit 1
fi
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build
grown=$(mktemp -d)
trap 'rm -rf "$grown"' EXIT
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$grown/$t" "fuzz/artifacts/$t"
  echo "== fuzz $t: $seconds s"
  # -malloc_limit_mb: inputs are at most 64 KiB and the largest buffer the
  # code may prepare is one 256 KiB data frame, so an allocation of 8 MiB can
  # only be sized by a length the input claims (a WSGP header may claim 16 MiB).
  if cargo fuzz run "$t" "$grown/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=8 -print_final_stats=1 \
    >"$grown/$t.log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$grown/$t.log" || true
  else
    grep -v -E '^(#[0-9]|INFO:)' "$grown/$t.log" | head -n 60
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: every target ran $seconds s without a failure"
