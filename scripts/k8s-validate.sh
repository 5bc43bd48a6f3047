#!/usr/bin/env bash
# The manifests of `einv-load k8s` against the Kubernetes API schema, offline: PyPI's
# kubernetes-validate (its schemas ship with the package) in --strict mode, which refuses
# unknown fields, for 1, 3 and 16 shards; and the profile in the ConfigMap read back by a
# YAML parser, byte for byte. Usage: scripts/k8s-validate.sh [EINV_LOAD_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/einv-load}"
k8s_version="1.30.0"
profile="profiles/double11-peak.toml"

# A venv of its own, so that the machine's Python is left as it is.
venv="${TMPDIR:-/tmp}/einv-load-k8s-venv"
if ! "$venv/bin/python" -c "import kubernetes_validate, yaml" 2>/dev/null; then
  python3 -m venv "$venv"
  # Pinned: a later release may drop the schemas of the version checked here.
  "$venv/bin/pip" install -q "kubernetes-validate==1.37.0"
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for n in 1 3 16; do
  "$bin" k8s "$profile" --shards "$n" --image einv-load:ci --namespace einv-load >"$out/shards-$n.yaml" 2>/dev/null
  "$venv/bin/kubernetes-validate" --kubernetes-version "$k8s_version" --strict --quiet "$out/shards-$n.yaml"
  "$venv/bin/python" - "$out/shards-$n.yaml" "$profile" "$n" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
profile, n = open(sys.argv[2]).read(), int(sys.argv[3])
kinds = [d["kind"] for d in docs]
assert kinds == ["Namespace", "ConfigMap", "PersistentVolumeClaim", "Job", "Job"], kinds
assert docs[1]["data"][sys.argv[2].rsplit("/", 1)[-1]] == profile, "the ConfigMap does not hold the profile as it is"
spec = docs[3]["spec"]
assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", n, n), spec
env = {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0]["env"]}
assert env["EINV_SHARDS"] == str(n), env
PY
  echo "k8s manifests, shards = $n: valid against Kubernetes $k8s_version (--strict)"
done
