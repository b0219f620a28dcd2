#!/usr/bin/env bash
# Runs .ci/run the way CI does: on a fresh clone of the committed main branch, in a new
# folder, with the shared target directory. For developers, before stopping.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d /tmp/vigil-ci.XXXXXX)"
git clone -q --branch main "$src" "$dir/vigil"
cd "$dir/vigil"
echo "ci-dry-run: $dir/vigil" >&2
time .ci/run
