#!/usr/bin/env bash
# Runs Vigil's whole test suite: installs what the tests need, then unit, integration,
# property and doc tests, and a short fuzzing pass over every parser.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --test

echo "== cargo nextest (unit, integration, property tests)" >&2
cargo nextest run --workspace --no-fail-fast
echo "== doc tests" >&2
cargo test --workspace --doc -q

if [ -x scripts/fuzz.sh ]; then
  echo "== fuzz (short run per target)" >&2
  scripts/fuzz.sh "${VIGIL_FUZZ_SECONDS:-20}"
fi
echo "== all tests passed" >&2
