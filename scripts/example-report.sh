#!/usr/bin/env bash
# Regenerate reports/example/, the report the README shows: `simulate` of
# profiles/example.toml (deterministic: the same data every time; only the timestamps in
# summary.json and histograms.hlog change). The SLO fails on purpose (exit code 1).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf reports/example
status=0
cargo run --quiet -- simulate profiles/example.toml --out reports/example >/dev/null || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
  echo "simulate failed with exit code $status" >&2
  exit "$status"
fi
echo "reports/example/ written; open reports/example/index.html"
