#!/usr/bin/env bash
# The image, checked the way Kubernetes would run it, with Docker and no cluster: builds
# the Dockerfile, then plays the Jobs of `einv-load k8s PROFILE --shards N` as containers —
# each shard with the environment an Indexed Job gives its pod (JOB_COMPLETION_INDEX,
# EINV_SHARDS), the manifest's own command, uid 10001, every capability dropped, no new
# privileges, the profile mounted read-only and one shared reports folder — then the merge
# Job's command. Passes when every container exits as the manifests expect, the merged
# report's `sent` is the sum of the shards', and `einv-load` in the image prints the same
# version as the one built here. Needs a Docker daemon; the profile's target must be
# reachable from a container without a network (`builtin`, the default smoke profile).
#
#   bash scripts/docker-check.sh [PROFILE] [SHARDS] [IMAGE]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-profiles/smoke.toml}
shards=${2:-3}
image=${3:-einv-load:check}
docker info >/dev/null 2>&1 || { echo "docker-check: no Docker daemon answers (docker info failed)" >&2; exit 3; }

docker build -q -t "$image" . >/dev/null
echo "image $image: $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MiB", $1/1048576}'), user $(docker image inspect -f '{{.Config.User}}' "$image")"
inside=$(docker run --rm --network none "$image" --version)
outside=$(cargo run --quiet --release -- --version)
[ "$inside" = "$outside" ] || { echo "in the image: $inside; built here: $outside" >&2; exit 1; }

work=$(mktemp -d)
trap 'docker rm -f $(cat "$work/containers" 2>/dev/null) >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -p "$work/profile" "$work/reports"
cp "$profile" "$work/profile/"
chown -R 10001:10001 "$work/reports" 2>/dev/null || chmod 777 "$work/reports"
cargo run --quiet --release -- k8s "$profile" --shards "$shards" --image "$image" --start-in 20s > "$work/jobs.yaml"

# The shard and merge commands, word for word from the manifests.
python3 - "$work" <<'PY'
import sys, yaml
work = sys.argv[1]
jobs = [d for d in yaml.safe_load_all(open(f"{work}/jobs.yaml")) if d["kind"] == "Job"]
for job in jobs:
    role = job["spec"]["template"]["metadata"]["labels"]["einv-load/role"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    open(f"{work}/{role}.sh", "w").write(container["command"][2])
    open(f"{work}/{role}.count", "w").write(str(job["spec"].get("completions", 1)))
PY
run_container() {  # NAME SCRIPT ENV...
  local name=$1 script=$2; shift 2
  docker run -d --name "$name" --network none --user 10001:10001 --cap-drop ALL \
    --security-opt no-new-privileges --read-only --tmpfs /tmp \
    -v "$work/profile:/etc/einv-load:ro" -v "$work/reports:/reports" "$@" \
    --entrypoint /bin/sh "$image" -c "$(cat "$script")" >> "$work/containers"
  echo >> "$work/containers"
}
for i in $(seq 0 $((shards - 1))); do
  run_container "einv-check-shard-$i-$$" "$work/shard.sh" -e JOB_COMPLETION_INDEX="$i" -e EINV_SHARDS="$shards"
done
run_container "einv-check-merge-$$" "$work/merge.sh"
status=0
for i in $(seq 0 $((shards - 1))); do
  code=$(docker wait "einv-check-shard-$i-$$")
  echo "shard $i: exit $code"; [ "$code" = 0 ] || { docker logs "einv-check-shard-$i-$$" | tail -5; status=1; }
done
code=$(docker wait "einv-check-merge-$$")
echo "merge: exit $code (the merged SLO verdict)"
docker logs "einv-check-merge-$$" 2>&1 | tail -3
python3 - "$work/reports" <<'PY' || status=1
import glob, json, sys
shards = sorted(glob.glob(f"{sys.argv[1]}/*/shard-*/summary.json"))
merged = glob.glob(f"{sys.argv[1]}/*/merged/summary.json")
sent = [json.load(open(p))["overall"]["requests"]["sent"] for p in shards]
total = json.load(open(merged[0]))["overall"]["requests"]["sent"] if merged else None
print(f"sent per shard {sent}, sum {sum(sent)}, merged {total}")
sys.exit(0 if merged and total == sum(sent) and len(shards) > 0 else 1)
PY
[ "$code" = 0 ] || [ "$code" = 1 ] || status=1
exit $status
