#!/usr/bin/env bash
# Regenerate reports/example/, the report the README shows: `simulate` of
# profiles/example.toml. Deterministic: with the start time fixed by SOURCE_DATE_EPOCH
# (2026-11-11T00:00:00Z), every file is the same byte for byte (but the einv-load
# version). The SLO fails on purpose (exit code 1).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf reports/example
status=0
SOURCE_DATE_EPOCH=1794355200 cargo run --quiet -- simulate profiles/example.toml --out reports/example >/dev/null || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
  echo "simulate failed with exit code $status" >&2
  exit "$status"
fi
echo "reports/example/ written; open reports/example/index.html"
