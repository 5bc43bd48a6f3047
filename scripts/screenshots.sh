#!/usr/bin/env bash
# Refresh docs/screenshots/: the first screen (1366x768) of index.html for a passing run
# (run.png), a failing ramp (ramp.png) and a capacity search (capacity.png), as headless
# Chromium (Debian's `chromium`) shows them. They are the pictures the browser test
# `html::index_html_renders_every_chart_in_headless_chromium` takes while it checks that
# the answer and the main chart are inside that first screen. Every request stays on
# 127.0.0.1 (the built-in target).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/screenshots
EINV_KEEP_SCREENSHOTS="$PWD/docs/screenshots" cargo test --quiet --locked --test e2e -- --ignored html:: >/dev/null
ls -l docs/screenshots/*.png
