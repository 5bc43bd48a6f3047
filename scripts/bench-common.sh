# Sourced by the benchmark scripts (bench-peers.sh, h2load-compare.sh): what each of them
# needs installed, from the Debian packages, and einv-load's release build.

# bench_need COMMAND:PACKAGE ...: install each PACKAGE whose COMMAND is missing, plus what
# every bench needs (nginx, GNU time, taskset).
bench_need() {
    local need_apt=() pair
    for pair in nginx:nginx-light /usr/bin/time:time taskset:util-linux "$@"; do
        command -v "${pair%%:*}" > /dev/null || need_apt+=("${pair#*:}")
    done
    if [ ${#need_apt[@]} -gt 0 ]; then
        echo "installing ${need_apt[*]} from the Debian packages ..." >&2
        local sudo_=""
        [ "$(id -u)" = 0 ] || sudo_=sudo
        $sudo_ apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need_apt[@]}" >&2
    fi
    # Built once; after a change, `cargo build --release` (or pass --einv BIN).
    [ -x target/release/einv-load ] || cargo build --release >&2
}
