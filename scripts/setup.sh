#!/usr/bin/env bash
# Installs what building and testing Vigil needs on a fresh Debian machine, skipping
# what is already there. Safe to run repeatedly.
#   scripts/setup.sh          build dependencies only (for `vigil demo`)
#   scripts/setup.sh --test   also the test tools: pyarrow and duckdb (independent readers
#                             of our Parquet), moto's S3 server and boto3 (the AWS API
#                             emulator the object-storage tests run against)
set -euo pipefail

need_apt=()
pkg-config --exists libhs 2>/dev/null || need_apt+=(libhyperscan-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need_apt[@]}" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q "${need_apt[@]}" >/dev/null
  }
fi

if [ "${1:-}" = "--test" ]; then
  if ! python3 -c 'import pyarrow, duckdb' 2>/dev/null; then
    echo "setup: installing pyarrow and duckdb (pip) for the independent-reader tests" >&2
    python3 -m pip install -q --disable-pip-version-check 'pyarrow>=15' 'duckdb>=1.1' 2>&1 | grep -v 'Running pip as the' >&2 || true
    python3 -c 'import pyarrow, duckdb'
  fi
  if ! command -v moto_server >/dev/null || ! python3 -c 'import boto3, moto.server' 2>/dev/null; then
    echo "setup: installing moto[server] (pip): the AWS API emulator for the S3 tests" >&2
    python3 -m pip install -q --disable-pip-version-check 'moto[server]>=5' 2>&1 | grep -v 'Running pip as the' >&2 || true
    python3 -c 'import boto3, moto.server'
    command -v moto_server >/dev/null
  fi
fi
