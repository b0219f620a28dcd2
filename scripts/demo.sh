#!/usr/bin/env bash
# Runs Vigil's main job on an embedded default: generates a realistic dataset with
# Vigil's own generator, ingests it and prints the summary. No Kafka or cloud account.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run -q --bin vigil -- demo "$@"
