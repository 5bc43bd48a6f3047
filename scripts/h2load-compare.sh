#!/usr/bin/env bash
# einv-load against h2load (nghttp2-client) over HTTP/2 (prior-knowledge h2c to nginx), whole
# process, on this machine: prints a Markdown table of req/s and client CPU µs/req with the
# ratios, at saturation and at a fixed rate. The same harness as bench-peers.sh
# (scripts/bench_peers.py --http2): nginx on CPU 0, the tool on CPU 1, requests counted by
# nginx, medians of interleaved runs. Installs what is missing: nginx, nghttp2-client and GNU
# time from the Debian packages, einv-load with `cargo build --release`.
#
#   scripts/h2load-compare.sh                   # saturation and 5,000/s, median of 5 runs of 10 s
#   scripts/h2load-compare.sh --reps 1 --dur 2  # a quick check that everything runs
#   scripts/h2load-compare.sh --streams 32      # streams per connection at the fixed rate
#   scripts/h2load-compare.sh --help            # every option (scripts/bench_peers.py)
#
# Needs 2 cores; run it on a quiet machine (the load average is printed with the table).
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in *" -h "* | *" --help "*) exec python3 scripts/bench_peers.py --help ;; esac

. scripts/bench-common.sh
bench_need h2load:nghttp2-client

exec python3 scripts/bench_peers.py --http2 --tools h2load,einv-load "$@"
