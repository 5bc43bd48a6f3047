//! Shards on three "hosts" with no cluster: Linux network namespaces joined to a fourth,
//! the target's, by veth links the test makes (and removes, by name, however it ends).
//! Each shard runs with the environment an Indexed Job gives its pod (JOB_COMPLETION_INDEX,
//! EINV_SHARDS: `--shard auto`) and one `--start-at`; the merged report must add up to
//! the shards exactly and to the target's own request counter. Needs root (`ip netns`):
//! elsewhere the tests say so and pass, except under CI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::outputs::privileged;
use crate::serve::{Served, start};
use crate::{einv, root, stderr, stdout, summary};

const SHARDS: usize = 3;

/// 300/s for 4 s over two ops of the built-in target, 100/s a shard.
const PROFILE: &str = r#"schema = 1
name = "netns"
seed = 11
[target]
url = "http://127.0.0.1:1"
connections = 16
request-timeout = "5s"
[load]
[[load.stage]]
kind = "constant"
rate = 300
duration = "4s"
[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
body = { generator = "invoice" }
[[op]]
name = "health"
path = "/healthz"
"#;

/// Namespaces made by a test, deleted by name when it ends (their veths go with them).
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Run `ip ARGS`, panicking with its error.
fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().expect("ip (iproute2) runs");
    assert!(o.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
}

/// The hosts and the target: host i is 10.213.(N+i).1, linked to the target's side
/// .2 of that /30; the target serves on 10.213.100+N.1 (on its loopback), routed from
/// every host. `None` (printed) where namespaces cannot be made.
struct Rig {
    names: Namespaces,
    service: String,
}

impl Rig {
    fn new(test: u8) -> Option<Rig> {
        let base = format!("einv-{}-{test}", std::process::id());
        let target = format!("{base}-t");
        if !privileged("ip netns add", Command::new("ip").args(["netns", "add", &target])) {
            return None;
        }
        let mut names = Namespaces(vec![target.clone()]);
        let net = 10 * u32::from(test);
        let service = format!("10.213.{}.1", 100 + net);
        ip(&["-n", &target, "link", "set", "lo", "up"]);
        ip(&["-n", &target, "addr", "add", &format!("{service}/32"), "dev", "lo"]);
        for i in 0..SHARDS as u32 {
            let host = format!("{base}-h{i}");
            ip(&["netns", "add", &host]);
            names.0.push(host.clone());
            let (h, t) = (format!("10.213.{}.1", net + i), format!("10.213.{}.2", net + i));
            let peer = format!("et{i}");
            ip(&["-n", &host, "link", "add", "eh", "type", "veth", "peer", "name", &peer, "netns", &target]);
            ip(&["-n", &host, "addr", "add", &format!("{h}/30"), "dev", "eh"]);
            ip(&["-n", &target, "addr", "add", &format!("{t}/30"), "dev", &peer]);
            for (ns, dev) in [(&host, "eh"), (&host, "lo"), (&target, peer.as_str())] {
                ip(&["-n", ns, "link", "set", dev, "up"]);
            }
            ip(&["-n", &host, "route", "add", &format!("{service}/32"), "via", &t]);
        }
        Some(Rig { names, service })
    }

    fn target(&self) -> &str {
        &self.names.0[0]
    }

    fn host(&self, i: usize) -> &str {
        &self.names.0[1 + i]
    }

    /// `einv-load serve` in the target's namespace, and its base URL.
    fn serve(&self) -> (Served, String) {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", self.target()]).arg(env!("CARGO_BIN_EXE_einv-load"));
        cmd.args(["serve", "--addr", &format!("{}:0", self.service), "--pool-size", "64"]);
        let (served, port) = start(cmd);
        (served, format!("http://{}:{port}", self.service))
    }

    /// Shard `i` on host `i`, as an Indexed Job's pod would run it.
    fn shard(&self, i: usize, profile: &Path, url: &str, at: &str, out: &Path) -> Child {
        Command::new("ip")
            .args(["netns", "exec", self.host(i)])
            .arg(env!("CARGO_BIN_EXE_einv-load"))
            .args(["run", &profile.display().to_string(), "--target", url, "--no-progress"])
            .args(["--shard", "auto", "--start-at", at, "--out", &out.display().to_string()])
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .env("EINV_SHARDS", SHARDS.to_string())
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("a shard starts")
    }

    /// The target's own count of requests received (its /metrics, read from inside its
    /// namespace with bash's /dev/tcp: the test's own namespace has no route there).
    fn requests_received(&self, url: &str) -> u64 {
        let port = url.rsplit(':').next().unwrap();
        let script = format!(
            "exec 3<>/dev/tcp/{}/{port}; printf 'GET /metrics HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n' >&3; cat <&3",
            self.service
        );
        let o = Command::new("ip").args(["netns", "exec", self.target(), "bash", "-c", &script]).output().unwrap();
        let text = stdout(&o);
        let line = text.lines().find(|l| l.starts_with("einv_requests_total ")).unwrap_or_else(|| panic!("{text}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

/// Wait for every shard; each must exit 0.
fn finish(children: Vec<Child>) {
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "shard {i}: {}{}", stdout(&o), stderr(&o));
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn count(v: &Value, path: &str) -> u64 {
    v.pointer(path).and_then(Value::as_u64).unwrap_or_else(|| panic!("{path} in {v}"))
}

/// The arrivals of shard `i`'s share, as `generate` lists them (no target needed).
fn share(profile: &Path, i: usize) -> u64 {
    let o = einv()
        .args(["generate", &profile.display().to_string(), "--count", "100000", "--shard", &format!("{i}/{SHARDS}")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).lines().count() as u64
}

/// Merge the shard folders; the merged summary.
fn merge(dirs: &[PathBuf], out: &Path) -> Value {
    let mut args: Vec<String> = vec!["merge".into()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    args.extend(["--out".into(), out.display().to_string()]);
    let o = einv().args(&args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("shards' start spread"), "the merged summary states it: {}", stdout(&o));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("shards' start spread"), "{md}");
    summary(out)
}

/// The merged counts are the shards' sums exactly, per op and histogram; every request
/// sent is one the target counted.
fn assert_exact(shards: &[Value], merged: &Value, received: u64) {
    for op in ["issue", "health"] {
        for key in ["requests/sent", "requests/scheduled", "requests/unsent", "latency_ms/count", "service_ms/count"] {
            let path = format!("/ops/{op}/{key}");
            let sum: u64 = shards.iter().map(|s| count(s, &path)).sum();
            assert_eq!(count(merged, &path), sum, "{path}");
        }
    }
    assert_eq!(count(merged, "/overall/requests/errors"), 0, "{merged}");
    assert_eq!(count(merged, "/overall/requests/sent"), received, "the target received every request sent, once");
}

fn setup(test: u8) -> Option<(Rig, Served, String, tempfile::TempDir, PathBuf)> {
    let rig = Rig::new(test)?;
    let (served, url) = rig.serve();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("netns.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    Some((rig, served, url, dir, profile))
}

#[test]
fn three_hosts_start_together_and_merge_exactly() {
    let Some((rig, _served, url, dir, profile)) = setup(0) else { return };
    // Time for three debug processes to come up on a busy machine.
    let at = rfc3339(SystemTime::now() + Duration::from_secs(4));
    let outs: Vec<PathBuf> = (0..SHARDS).map(|i| dir.path().join(format!("shard-{i}"))).collect();
    let children = (0..SHARDS).map(|i| rig.shard(i, &profile, &url, &at, &outs[i])).collect();
    finish(children);
    let shards: Vec<Value> = outs.iter().map(|d| summary(d)).collect();
    for (i, s) in shards.iter().enumerate() {
        assert_eq!(s["run"]["shard"], format!("{i}/{SHARDS}"), "--shard auto took the Job's index");
        assert_eq!(s["run"]["start"]["at"].as_str().unwrap()[..19], at[..19]);
        let (sent, missed) = (count(s, "/overall/requests/sent"), count(s, "/run/start/missed"));
        assert_eq!(sent + missed, share(&profile, i), "shard {i}: sent + missed is its share");
    }
    let merged = merge(&outs, &dir.path().join("merged"));
    assert_exact(&shards, &merged, rig.requests_received(&url));
    let spread = merged["run"]["start"]["spread_ms"].as_f64().expect("the merged report states the spread");
    let lates: Vec<f64> = shards.iter().map(|s| s["run"]["start"]["late_ms"].as_f64().unwrap()).collect();
    eprintln!(
        "netns: sent {} = target's count; start spread {spread:.3} ms (shards late by {lates:?} ms)",
        count(&merged, "/overall/requests/sent")
    );
    // One kernel clock for all namespaces: the spread is the processes' wake-ups; the
    // bound is generous so that a loaded machine holds it.
    assert!((0.0..1000.0).contains(&spread), "{spread}");
}

#[test]
fn a_shard_that_starts_late_joins_and_says_what_it_missed() {
    let Some((rig, _served, url, dir, profile)) = setup(1) else { return };
    let start = SystemTime::now() + Duration::from_secs(4);
    let at = rfc3339(start);
    let outs: Vec<PathBuf> = (0..SHARDS).map(|i| dir.path().join(format!("shard-{i}"))).collect();
    let mut children: Vec<Child> = (0..2).map(|i| rig.shard(i, &profile, &url, &at, &outs[i])).collect();
    let late_by = Duration::from_millis(1500);
    std::thread::sleep((start + late_by).duration_since(SystemTime::now()).unwrap_or_default());
    children.push(rig.shard(2, &profile, &url, &at, &outs[2]));
    finish(children);
    let shards: Vec<Value> = outs.iter().map(|d| summary(d)).collect();
    let late = &shards[2];
    let (sent, missed) = (count(late, "/overall/requests/sent"), count(late, "/run/start/missed"));
    let total = share(&profile, 2);
    assert!(late["run"]["start"]["late_ms"].as_f64().unwrap() >= 1500.0, "{}", late["run"]);
    assert!(missed > 0, "1.5 s of arrivals at 100/s were due before it came up");
    assert_eq!(sent + missed, total, "it sent every arrival still to come");
    assert_eq!(count(late, "/overall/requests/unsent"), missed, "missed arrivals are unsent, not errors");
    assert!(late["warnings"].to_string().contains("missed"), "{}", late["warnings"]);
    let merged = merge(&outs, &dir.path().join("merged"));
    assert_exact(&shards, &merged, rig.requests_received(&url));
    let shard_missed: u64 = shards.iter().map(|s| count(s, "/run/start/missed")).sum();
    assert_eq!(count(&merged, "/run/start/missed"), shard_missed);
    eprintln!(
        "netns late shard: missed {missed} of its {total}, sent {sent}; merged spread {:.1} ms",
        merged["run"]["start"]["spread_ms"].as_f64().unwrap()
    );
}
