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

need_apt=()
command -v nginx > /dev/null || need_apt+=(nginx-light)
command -v h2load > /dev/null || need_apt+=(nghttp2-client)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v taskset > /dev/null || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing ${need_apt[*]} from the Debian packages ..." >&2
    sudo_=""
    [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need_apt[@]}" >&2
fi

# Built once; after a change, `cargo build --release` (or pass --einv BIN).
[ -x target/release/einv-load ] || cargo build --release >&2

exec python3 scripts/bench_peers.py --http2 --tools h2load,einv-load "$@"
