#!/usr/bin/env bash
# Runs every property test (each `proptest!` block of the workspace) under many random
# seeds. `scripts/test.sh` pins proptest's seed so that CI is reproducible; this script
# is where new random cases are looked for, by hand, before a change lands.
#   scripts/explore-properties.sh 50         seeds 1..50
#   scripts/explore-properties.sh 50 1000    seeds 1000..1049
# A failure prints the seed; rerun it with PROPTEST_RNG_SEED=<seed> cargo nextest run ...
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-20}"
first="${2:-1}"
# The names of the tests inside `proptest!` blocks, as a nextest filter expression.
filter="$(python3 - <<'PY'
import pathlib, re
names = set()
for path in pathlib.Path('.').glob('*/**/*.rs'):
    if 'target' in path.parts or 'fuzz' in path.parts:
        continue
    text = path.read_text(encoding='utf-8')
    for m in re.finditer(r'proptest!\s*\{', text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {'{': 1, '}': -1}.get(text[i], 0)
            i += 1
        names.update(re.findall(r'fn\s+(\w+)\s*\(', text[m.end():i]))
# Unit tests are named with their module path (`vpcflow::tests::name`).
print(' | '.join(f'test(/(^|::){n}$/)' for n in sorted(names)))
PY
)"
[ -n "$filter" ] || { echo "explore-properties: no property tests found" >&2; exit 1; }
echo "explore-properties: $(grep -o 'test(' <<<"$filter" | wc -l) property tests" >&2
cargo nextest run --workspace --no-run >&2
failed=()
for seed in $(seq "$first" $((first + count - 1))); do
  if PROPTEST_RNG_SEED="$seed" PROPTEST_DISABLE_FAILURE_PERSISTENCE=1 \
     cargo nextest run --workspace --no-fail-fast --status-level fail --final-status-level fail \
       -E "$filter" >"${TMPDIR:-/tmp}/explore-properties.$seed.log" 2>&1; then
    echo "seed $seed: ok" >&2
    rm -f "${TMPDIR:-/tmp}/explore-properties.$seed.log"
  else
    echo "seed $seed: FAILED (log: ${TMPDIR:-/tmp}/explore-properties.$seed.log)" >&2
    failed+=("$seed")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "explore-properties: failing seeds: ${failed[*]}" >&2
  exit 1
fi
echo "explore-properties: $count seeds passed" >&2
