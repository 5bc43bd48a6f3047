#!/usr/bin/env bash
# einv-load against wrk and oha, whole process, on this machine: prints the Markdown table of
# README "How fast is it?". Installs what is missing: nginx, wrk and GNU time from the Debian
# packages, oha with `cargo install oha --locked` into a cache directory (several minutes
# the first time: it compiles), einv-load with `cargo build --release`.
#
#   scripts/bench-peers.sh                  # saturation and 5,000/s, median of 5 interleaved runs
#   scripts/bench-peers.sh --reps 1 --dur 3 # a quick check that everything runs
#   scripts/bench-peers.sh --help           # every option (scripts/bench_peers.py)
#
# Needs 2 cores: nginx runs on CPU 0, the tool on CPU 1. Run it on a quiet machine (the load
# average is printed with the table): other work on either core shows in every figure.
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in *" -h "* | *" --help "*) exec python3 scripts/bench_peers.py --help ;; esac
cache="${EINV_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/einv-load-bench}"

. scripts/bench-common.sh
bench_need wrk:wrk

oha="$(command -v oha || true)"
if [ -z "$oha" ]; then
    oha="$cache/oha/bin/oha"
    if [ ! -x "$oha" ]; then
        echo "cargo install oha --locked into $cache/oha (compiles; minutes) ..." >&2
        began=$(date +%s)
        cargo install oha --locked --root "$cache/oha" >&2
        echo "oha installed in $(( $(date +%s) - began )) s" >&2
    fi
fi

exec python3 scripts/bench_peers.py --oha "$oha" "$@"
