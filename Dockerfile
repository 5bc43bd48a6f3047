# einv-load in a small image, for `einv-load k8s` (README: Running on Kubernetes).
#   docker build -t einv-load:0.1 .
# The builder compiles the release binary; the runtime image holds it, profiles/ and
# the CA roots (for https targets), and runs as a non-root user (uid 10001, which the
# manifests of `einv-load k8s` name).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# No DWARF in the image (the symbols stay, for perf): 15 MiB instead of 56.
ENV CARGO_PROFILE_RELEASE_STRIP=debuginfo
RUN cargo build --release --locked --bin einv-load

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/einv einv
COPY --from=build /src/target/release/einv-load /usr/local/bin/einv-load
COPY profiles /profiles
USER 10001:10001
WORKDIR /home/einv
ENTRYPOINT ["einv-load"]
CMD ["--help"]
