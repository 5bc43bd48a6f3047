#!/usr/bin/env bash
# Record tests/fixtures/browser.har again: headless Chromium (Debian's `chromium`) driven
# by Playwright's recordHar against a page served on 127.0.0.1 (scripts/record-har/).
# The e2e test `init::a_real_browser_har_imports_and_runs` imports the committed file;
# this script is only needed to refresh it. Needs node/npm and chromium
# (apt-get install chromium); every request stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/record-har"
npm ci --no-audit --no-fund --silent
node record.mjs "${1:-../../tests/fixtures/browser.har}" "${CHROMIUM:-$(command -v chromium)}"
