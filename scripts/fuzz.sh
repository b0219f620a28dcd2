#!/usr/bin/env bash
# Fuzzes every parser for N seconds each (default 20), seeded with the shared corpus.
#   scripts/fuzz.sh 20          short pass (what scripts/test.sh runs)
#   scripts/fuzz.sh 600         a longer run by hand
# Crashes are written to fuzz/artifacts/<target>/ and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
tools="$HOME/.cache/vigil/tools"
if ! [ -x "$tools/bin/cargo-fuzz" ]; then
  echo "fuzz: installing cargo-fuzz into $tools" >&2
  cargo install cargo-fuzz --locked --quiet --root "$tools"
fi
export PATH="$tools/bin:$PATH"
export CARGO_TARGET_DIR="${VIGIL_FUZZ_TARGET_DIR:-$HOME/.cache/vigil/target-fuzz}"
for c in "${VIGIL_CORPUS:-}" ../shared/corpus ../../shared/corpus /work/shared/corpus; do
  [ -n "$c" ] && [ -d "$c" ] && { corpus="$(cd "$c" && pwd)"; break; }
done
[ -n "${corpus:-}" ] || { echo "fuzz: shared corpus not found; set VIGIL_CORPUS" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
declare -A seeds=(
  [cloudtrail]="$corpus/stratus-red-team/docs/detonation-logs $corpus/falco-k8saudit-tests/test/trace_files/plugins"
  [vpcflow]="$corpus/aws-vpc-flow-logs-docs/extracted $corpus/otel-contrib-awslogs-testdata/extension/encoding/awslogsencodingextension/internal/unmarshaler/vpc-flow-log/testdata"
  [k8s_audit]="$corpus/falco-k8saudit-tests/test/trace_files/k8s_audit"
  [falco]="$corpus/falco-website-alert-examples $corpus/falco-k8saudit-tests/test/output_files"
  [rules]="$corpus/sigma/rules/cloud/aws/cloudtrail $corpus/sigma/rules/application/kubernetes $corpus/sigma-specification/tests"
  [auto]="$corpus/loki-lambda-promtail-testdata/extracted $corpus/otel-contrib-awslogs-testdata/extension/encoding/awslogsencodingextension/internal/unmarshaler/cloudtraillog/testdata"
)
cd fuzz
cargo fuzz build -s none -O >&2
for t in cloudtrail vpcflow k8s_audit falco auto rules; do
  mkdir -p "$work/$t"
  echo "fuzz: $t for ${secs}s" >&2
  # shellcheck disable=SC2086
  cargo fuzz run -s none -O "$t" "$work/$t" ${seeds[$t]} -- \
    -max_total_time="$secs" -max_len=16384 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|panicked|SUMMARY|Test unit written' >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: $t found a crash (see fuzz/artifacts/$t)" >&2; exit 1; }
done
