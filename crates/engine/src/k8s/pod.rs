//! The objects of `einv-load k8s` that run pods: the shards' Indexed Job, the merge Job,
//! and the volume they share.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::profile::{Plan, RATE_PER_CORE, Shard};

/// Where the pods find the profile and the shared volume.
const PROFILE_DIR: &str = "/etc/einv-load";
const REPORTS_DIR: &str = "/reports";
/// The image's user (the Dockerfile's `einv` user).
const USER_ID: u32 = 10001;
/// Memory of a process before its histograms and connections, MiB.
const BASE_MIB: f64 = 128.0;
/// One set of an op's histograms on one core, MiB (README, "How it measures": 1.1 MB
/// per core and op); the recorder holds one a core and a spare.
const HISTOGRAMS_MIB: f64 = 1.1;
/// Per open connection, with its buffers and TLS state, KiB: a generous bound.
const CONNECTION_KIB: f64 = 64.0;

/// What every object of one run shares.
pub(super) struct Spec<'a> {
    pub plan: &'a Plan,
    pub shards: u64,
    pub image: &'a str,
    /// The run's name: objects' names start with it, its folder on the volume has it.
    pub run: &'a str,
    pub profile_key: &'a str,
    pub start_at: SystemTime,
    pub claim: String,
    pub config_map: String,
    /// The ConfigMap's keys and where each lies under the profile's folder.
    pub items: Vec<(String, String)>,
}

impl Spec<'_> {
    fn folder(&self) -> String {
        format!("{REPORTS_DIR}/{}", self.run)
    }
}

/// The labels of a run's objects (and its pods, by `role`).
pub(super) fn labels(run: &str, role: Option<&str>) -> Value {
    let mut l = json!({"app.kubernetes.io/name": "einv-load", "app.kubernetes.io/instance": run});
    if let Some(role) = role {
        l["einv-load/role"] = json!(role);
    }
    l
}

/// The shards' folders, a ReadWriteMany claim: every node writes its own shard's folder
/// and the merge pod reads them all. 1 GiB holds hours of a run's folders (a report is a
/// few MB an hour an op); the storage class is the cluster's default.
pub(super) fn volume(metadata: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata,
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}
    })
}

/// N pods, one per node, each `run --shard auto` from the common start.
pub(super) fn shards_job(spec: &Spec, metadata: Value, deadline: Duration) -> Value {
    let at = humantime::format_rfc3339_seconds(spec.start_at);
    let profile = format!("{PROFILE_DIR}/{}", spec.profile_key);
    // A shard's own SLO is its share's: exit 1 is a finished run here, and the merge Job's
    // verdict is the gate. Any other failure fails the Job.
    let script = format!(
        "out={folder}/shard-$JOB_COMPLETION_INDEX\n\
         einv-load run {profile} --shard auto --start-at {at} --no-progress --out \"$out\" || code=$?\n\
         if [ \"${{code:-0}}\" = 1 ]; then echo \"this shard failed its share's SLO: the merge decides\"; exit 0; fi\n\
         exit \"${{code:-0}}\"\n",
        folder = spec.folder(),
    );
    let n = spec.shards;
    let shard_labels = labels(spec.run, Some("shard"));
    let container = json!({
        "name": "shard",
        "image": spec.image,
        "command": ["/bin/sh", "-c", script],
        "env": [
            {"name": Shard::COUNT_ENV, "value": n.to_string()},
            // The Job sets it too; declared here so that the pod spec says where it comes from.
            {"name": Shard::INDEX_ENV, "valueFrom": {"fieldRef": {
                "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
        ],
        "resources": resources(spec.plan, n),
        "volumeMounts": mounts(),
        "securityContext": container_security(),
    });
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "completionMode": "Indexed",
            "completions": n,
            "parallelism": n,
            // A shard run again would start late and write its folder twice.
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline.as_secs(),
            "template": {
                "metadata": {"labels": shard_labels.clone()},
                "spec": {
                    "restartPolicy": "Never",
                    // One shard a node: shards on one node would share its CPU and sockets,
                    // the limits sharding is for.
                    "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                        "labelSelector": {"matchLabels": shard_labels},
                        "topologyKey": "kubernetes.io/hostname"
                    }]}},
                    "securityContext": pod_security(),
                    "containers": [container],
                    "volumes": volumes(spec),
                }
            }
        }
    })
}

/// One pod that waits for every shard's complete folder (summary.json is written last),
/// merges them and exits with the merged verdict: 0 pass, 1 the SLO failed.
pub(super) fn merge_job(spec: &Spec, metadata: Value, deadline: Duration) -> Value {
    let script = format!(
        "dir={folder}\n\
         until [ \"$(ls \"$dir\"/shard-*/summary.json 2>/dev/null | wc -l)\" -ge {n} ]; do sleep 5; done\n\
         exec einv-load merge \"$dir\"/shard-* --out \"$dir/merged\"\n",
        folder = spec.folder(),
        n = spec.shards,
    );
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline.as_secs(),
            "template": {
                "metadata": {"labels": labels(spec.run, Some("merge"))},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": pod_security(),
                    "containers": [{
                        "name": "merge",
                        "image": spec.image,
                        "command": ["/bin/sh", "-c", script],
                        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
                        "volumeMounts": mounts(),
                        "securityContext": container_security(),
                    }],
                    "volumes": volumes(spec),
                }
            }
        }
    })
}

/// A shard pod's requests, from what one shard carries: a core per [`RATE_PER_CORE`] of
/// its peak rate (at least half a core), memory for its histograms and connections. The
/// CPU limit, a whole core above the request, is what the process sizes its threads by
/// (and so its histograms): without one it would start a thread per core of the node.
fn resources(plan: &Plan, shards: u64) -> Value {
    let each = plan.per_shard(shards);
    let cores = each.peak_rate.map_or(1.0, |r| r / RATE_PER_CORE).max(0.5);
    let millis = (cores * 10.0).ceil() as u64 * 100;
    let threads = millis.div_ceil(1000) + 1;
    let connections = each.connections as f64;
    let histograms = plan.ops.len() as f64 * threads as f64 * 2.0 * HISTOGRAMS_MIB;
    let mib = (BASE_MIB + histograms + connections * CONNECTION_KIB / 1024.0).ceil() as u64;
    json!({
        "requests": {"cpu": format!("{millis}m"), "memory": format!("{mib}Mi")},
        "limits": {"cpu": threads.to_string(), "memory": format!("{}Mi", mib * 2)},
    })
}

fn mounts() -> Value {
    json!([
        {"name": "profile", "mountPath": PROFILE_DIR, "readOnly": true},
        {"name": "reports", "mountPath": REPORTS_DIR},
    ])
}

fn volumes(spec: &Spec) -> Value {
    json!([
        {"name": "profile", "configMap": {"name": spec.config_map, "items": spec.items.iter()
            .map(|(key, path)| json!({"key": key, "path": path})).collect::<Vec<_>>()}},
        {"name": "reports", "persistentVolumeClaim": {"claimName": spec.claim}},
    ])
}

/// The image's non-root user; the volume writable by its group.
fn pod_security() -> Value {
    json!({"runAsNonRoot": true, "runAsUser": USER_ID, "runAsGroup": USER_ID, "fsGroup": USER_ID})
}

fn container_security() -> Value {
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}})
}
