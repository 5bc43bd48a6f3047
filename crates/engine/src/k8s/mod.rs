//! `einv-load k8s`: the manifests that run a profile as N shards on Kubernetes, with no
//! controller of einv-load's own. An Indexed Job of N pods (one a node), each
//! `run --shard auto --start-at T` on its own slice of the one schedule, writes its report
//! folder to a shared volume; a merge Job waits for all N folders, merges them and exits
//! with the merged run's SLO verdict, so `kubectl wait` on it is the gate.

mod pod;
mod yaml;

use std::path::Path;
use std::time::{Duration, SystemTime};

use einv_core::input::{self, Cap};
use serde_json::{Value, json};

use crate::error::Error;
use crate::profile::{Plan, Shard};

/// How the manifests are made, beyond the profile.
#[derive(Debug, Clone)]
pub struct K8sOptions {
    /// Shards (pods); `None`: the profile's `[shards] count`.
    pub shards: Option<u64>,
    pub image: String,
    /// Put every object in this namespace, and create it.
    pub namespace: Option<String>,
    /// The shards start this long after the manifests are made: the time there is to apply
    /// them, pull the image and schedule the pods.
    pub start_in: Duration,
}

/// The manifests, one document per object, in the order to apply them.
#[derive(Debug)]
pub struct Manifests {
    /// (file name, object).
    pub documents: Vec<(String, Value)>,
    /// The shards' common start.
    pub start_at: SystemTime,
    /// The name the objects and the run's folder on the volume share.
    pub run: String,
    /// What the user must know (files the profile reads that the pods do not have).
    pub notes: Vec<String>,
}

impl Manifests {
    /// Every document, `---`-separated, after a header comment saying how to use them.
    pub fn to_stream(&self, shards: u64) -> String {
        let ns = self.documents.iter().any(|(f, _)| f.contains("namespace"));
        let mut out = format!(
            "# einv-load k8s: {shards} shards of run {run}, starting at {at}.\n\
             # Apply before then (kubectl apply -f FILE); the gate is the merge Job:\n\
             #   kubectl wait --for=condition=complete --timeout=1h {ns}job/{run}-merge\n",
            run = self.run,
            at = humantime::format_rfc3339_seconds(self.start_at),
            ns = if ns { "-n NAMESPACE " } else { "" },
        );
        for (_, doc) in &self.documents {
            out.push_str("---\n");
            out.push_str(&yaml::to_yaml(doc));
        }
        out
    }
}

/// The most a profile may hold, as for `run`.
const PROFILE_CAP: Cap = Cap { bytes: 4 << 20, what: "a profile" };
/// Time after the schedule and its drain for the pods' own start and the folders' writes.
const MARGIN: Duration = Duration::from_secs(300);

/// The manifests for `plan` (loaded from its file, which the ConfigMap holds as it is).
pub fn manifests(plan: &Plan, opts: &K8sOptions, now: SystemTime) -> Result<Manifests, Error> {
    let shards = opts.shards.unwrap_or_else(|| plan.shard_count());
    // Shard N-1 of N must have arrivals, as `run --shard` requires.
    let last = Shard::new(shards.saturating_sub(1), shards)
        .filter(|_| shards <= crate::profile::MAX_SHARDS)
        .ok_or_else(|| flag("--shards", format!("must be from 1 to {}, got {shards}", crate::profile::MAX_SHARDS)))?;
    let mut probe = plan.clone();
    probe.apply(&crate::Overrides { shard: Some(last), ..Default::default() }).map_err(|e| match e {
        Error::Flag { message, .. } => flag("--shards", message),
        other => other,
    })?;
    if opts.image.trim().is_empty() || opts.image.contains(char::is_whitespace) {
        return Err(flag(
            "--image",
            format!("{:?} is not an image reference (e.g. registry/einv-load:0.1)", opts.image),
        ));
    }
    if let Some(ns) = &opts.namespace
        && !dns_label(ns)
    {
        return Err(flag("--namespace", format!("{ns:?} is not a namespace name (lowercase letters, digits, '-')")));
    }
    let text = input::read_to_string(&plan.file, PROFILE_CAP)
        .map_err(|error| Error::Input { path: plan.file.clone(), error })?;
    // Whole seconds: the instant is written into the manifests, for a person to read.
    let start_at = now + opts.start_in + Duration::from_secs(1);
    let start_at = SystemTime::UNIX_EPOCH
        + Duration::from_secs(start_at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs());
    let base = object_name(&plan.name);
    let run = format!("{base}-{}", crate::folder::stamp(start_at).to_ascii_lowercase());
    let key = profile_key(&plan.file);
    let (carried, notes) = files_beside(plan);
    let mut items = vec![(key.clone(), key.clone())];
    items.extend(carried.iter().map(|(k, path, _)| (k.clone(), path.clone())));
    let deadline = opts.start_in + plan.load.duration() + plan.target.request_timeout + MARGIN;
    let spec = pod::Spec {
        plan,
        shards,
        image: &opts.image,
        run: &run,
        profile_key: &key,
        start_at,
        claim: format!("{base}-reports"),
        config_map: format!("{run}-profile"),
        items,
    };
    let meta = |name: &str| metadata(name, opts.namespace.as_deref(), &run);
    let mut objects: Vec<(&str, Value)> = Vec::new();
    if let Some(ns) = &opts.namespace {
        objects.push(("00-namespace.yaml", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})));
    }
    let mut data = json!({&key: text});
    for (k, _, content) in carried {
        data[k] = json!(content);
    }
    objects.push((
        "10-configmap.yaml",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(&spec.config_map), "data": data}),
    ));
    objects.push(("20-volume.yaml", pod::volume(meta(&spec.claim))));
    objects.push(("30-shards-job.yaml", pod::shards_job(&spec, meta(&format!("{run}-shards")), deadline)));
    objects.push(("40-merge-job.yaml", pod::merge_job(&spec, meta(&format!("{run}-merge")), deadline + MARGIN)));
    let documents = objects.into_iter().map(|(f, v)| (f.to_string(), v)).collect();
    Ok(Manifests { documents, start_at, run, notes })
}

/// Write the manifests to `dir` (created), one file per object; files there are refused.
pub fn write_manifests(m: &Manifests, dir: &Path) -> Result<(), Error> {
    let fail = |message: String| flag("--out", format!("{}: {message}", dir.display()));
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    if let Some((f, _)) = m.documents.iter().find(|(f, _)| dir.join(f).exists()) {
        return Err(fail(format!("already holds {f}; choose another --out or remove it")));
    }
    for (f, doc) in &m.documents {
        std::fs::write(dir.join(f), yaml::to_yaml(doc)).map_err(|e| fail(format!("{f}: {e}")))?;
    }
    Ok(())
}

fn flag(flag: &'static str, message: String) -> Error {
    Error::Flag { flag, message }
}

fn metadata(name: &str, namespace: Option<&str>, run: &str) -> Value {
    let mut m = json!({"name": name, "labels": pod::labels(run, None)});
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    m
}

/// A DNS-1123 label: what a namespace (and a Job's name) must be.
fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The profile's name as the start of object names: lowercase, other characters '-',
/// short enough that `NAME-STAMP-shards` and its pods' names stay within 63.
fn object_name(name: &str) -> String {
    let mapped: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let cut: String = mapped.chars().take(30).collect();
    let trimmed = cut.trim_matches('-');
    if trimmed.is_empty() { "einv-load".into() } else { format!("einv-{trimmed}") }
}

/// The ConfigMap key: the profile's file name (the merge checks the shards ran one file),
/// when it is a valid key.
fn profile_key(file: &Path) -> String {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if valid { name } else { "profile.toml".into() }
}

/// Room left in a ConfigMap (1 MiB at most, the profile included) for the files a
/// profile reads.
const FILES_CAP: u64 = 768 << 10;

/// The files the profile reads in its folder or below (text, within [`FILES_CAP`] in
/// all), as (ConfigMap key, path relative to the profile, text): the ConfigMap carries
/// them, mounted where the profile's relative paths find them. Notes name the others,
/// which the user must mount, and a built-in target.
fn files_beside(plan: &Plan) -> (Vec<(String, String, String)>, Vec<String>) {
    let mut files: Vec<&Path> = plan.feeders.iter().map(|f| f.path.as_path()).collect();
    if let crate::Load::Replay { trace, .. } = &plan.load {
        files.push(trace);
    }
    files.extend(plan.target.tls.ca_file.as_deref());
    let dir = plan.file.parent().unwrap_or(Path::new(""));
    let (mut carried, mut notes, mut room) = (Vec::new(), Vec::new(), FILES_CAP);
    for f in files {
        // File names only: a path may hold ${env.*} values.
        let name = f.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let relative = f.strip_prefix(dir).ok().map(|r| r.to_string_lossy().replace('\\', "/"));
        let relative = relative.filter(|r| !r.split('/').any(|part| part == ".." || part.is_empty()));
        let key = relative.as_deref().map(|r| r.replace('/', ".")).filter(|k| profile_key(Path::new(k)) == *k);
        let text = std::fs::metadata(f)
            .ok()
            .filter(|m| key.is_some() && m.len() <= room)
            .and_then(|_| std::fs::read_to_string(f).ok());
        match (text, key, relative) {
            (Some(text), Some(key), Some(relative)) => {
                room -= text.len() as u64;
                carried.push((key, relative, text));
            }
            _ => notes.push(format!(
                "the profile reads {name}, which the ConfigMap cannot carry (outside the profile's folder, or \
                 too large): mount it where the profile's path finds it"
            )),
        }
    }
    if matches!(plan.target.endpoint, crate::Endpoint::Builtin { .. }) {
        notes.push(
            "the profile's target is builtin: each pod loads a target of its own (a rehearsal, not a test of \
             your service)"
                .into(),
        );
    }
    (carried, notes)
}

#[cfg(test)]
mod tests;
