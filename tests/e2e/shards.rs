//! `merge` of real shard runs, `compare` of real (simulated) reruns, and report files read
//! back by the hdrhistogram crate's own readers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use serde_json::Value;

use crate::{run_in_root, stderr, stdout, summary};

const PROFILE: &str = r#"schema = 1
name = "shards"
seed = 3
[target]
url = "builtin"
connections = 16
[target.builtin]
issue-hold = "2ms"
[load]
[[load.stage]]
kind = "constant"
rate = 200
duration = "2s"
[[op]]
name = "issue"
weight = 1
method = "POST"
path = "/api/v1/invoices"
body = { generator = "invoice" }
[[op]]
name = "health"
weight = 1
path = "/healthz"
[slo]
p99 = "2s"
"#;

/// Every histogram of an interval log, summed per tag ("" = untagged), read with the
/// hdrhistogram crate's `IntervalLogIterator` and V2 `Deserializer` only.
fn hlog_sums(path: &Path) -> BTreeMap<String, Histogram<u64>> {
    let bytes = std::fs::read(path).unwrap();
    let mut de = Deserializer::new();
    let mut sums: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let LogEntry::Interval(ilh) = entry.unwrap() else { continue };
        let raw = base64::engine::general_purpose::STANDARD.decode(ilh.encoded_histogram()).unwrap();
        let h: Histogram<u64> = de.deserialize(&mut raw.as_slice()).unwrap();
        let tag = ilh.tag().map_or(String::new(), |t| t.as_str().to_string());
        match sums.get_mut(&tag) {
            Some(sum) => sum.add(&h).unwrap(),
            None => {
                sums.insert(tag, h);
            }
        }
    }
    sums
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// The percentile figures of summary.json equal those of `h`, exactly.
fn assert_percentiles(p: &Value, h: &Histogram<u64>, what: &str) {
    assert_eq!(p["count"].as_u64().unwrap(), h.len(), "{what} count");
    for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999)] {
        assert_eq!(p[key].as_f64().unwrap(), ms(h, q), "{what} {key}");
    }
    assert_eq!(p["max"].as_f64().unwrap(), h.max() as f64 / 1000.0, "{what} max");
}

fn shard_run(dir: &Path, shard: &str) -> PathBuf {
    let out = dir.join(format!("shard{}", &shard[..1]));
    let p = dir.join("p.toml").display().to_string();
    let o = run_in_root(&["run", &p, "--shard", shard, "--no-progress", "--out", &out.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    out
}

#[test]
fn two_real_shards_merge_into_exactly_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.toml"), PROFILE).unwrap();
    let shards = [shard_run(tmp.path(), "0/2"), shard_run(tmp.path(), "1/2")];
    let out = tmp.path().join("merged");
    let (a, b, m) = (shards[0].display().to_string(), shards[1].display().to_string(), out.display().to_string());
    let o = run_in_root(&["merge", &a, &b, "--out", &m]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    let (s0, s1, merged) = (summary(&shards[0]), summary(&shards[1]), summary(&out));
    assert_eq!(s0["run"]["shard"], "0/2");
    assert!(merged["run"].get("shard").is_none(), "the merged run is the whole run");
    let n = |s: &Value, path: &[&str]| path.iter().fold(s, |v, k| &v[*k]).as_u64().unwrap_or(0);
    for path in [
        &["overall", "requests", "scheduled"][..],
        &["overall", "requests", "sent"],
        &["overall", "requests", "ok"],
        &["overall", "status", "200"],
        &["ops", "issue", "requests", "sent"],
        &["ops", "health", "requests", "sent"],
        &["connections", "opened"],
    ] {
        assert_eq!(n(&merged, path), n(&s0, path) + n(&s1, path), "{path:?} adds up");
    }
    assert_eq!(n(&merged, &["overall", "requests", "scheduled"]), 400, "200/s for 2 s, all shards together");
    assert_eq!(merged["overall"]["rate"]["target_per_s"], 200.0);

    // The merged percentiles are those of one histogram holding both shards' values.
    let (h0, h1) = (hlog_sums(&shards[0].join("histograms.hlog")), hlog_sums(&shards[1].join("histograms.hlog")));
    for (tag, scope, key) in
        [("", "overall", "latency_ms"), ("issue:latency", "ops", "latency_ms"), ("health:service", "ops", "service_ms")]
    {
        let mut all = h0[tag].clone();
        all.add(&h1[tag]).unwrap();
        let p = if scope == "overall" {
            &merged["overall"][key]
        } else {
            &merged["ops"][tag.split(':').next().unwrap()][key]
        };
        assert_percentiles(p, &all, tag);
    }
    assert_eq!(merged["slo"]["passed"], true);
    assert!(std::fs::read_to_string(out.join("latency-timeline.svg")).unwrap().contains("<svg"));

    // Merging again into a report, or one shard twice, is refused with exit code 2.
    let again = run_in_root(&["merge", &a, &b, "--out", &m]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already holds a report"), "{}", stderr(&again));
    let twice_out = tmp.path().join("twice").display().to_string();
    let twice = run_in_root(&["merge", &a, &a, "--out", &twice_out]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(stderr(&twice).contains("count it twice"), "{}", stderr(&twice));
    let none = run_in_root(&["merge", &tmp.path().join("nope").display().to_string(), "--out", &twice_out]);
    assert_eq!(none.status.code(), Some(2), "{}", stderr(&none));
    assert!(!Path::new(&twice_out).exists(), "nothing written on bad input");
}

#[test]
fn hgrm_and_hlog_read_back_give_the_summary_figures() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.toml"), PROFILE).unwrap();
    let dir = tmp.path().join("report");
    let o = run_in_root(&[
        "run",
        &tmp.path().join("p.toml").display().to_string(),
        "--no-progress",
        "--out",
        &dir.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&dir);

    // histograms.hlog: exact, per op and overall, all three clocks.
    let sums = hlog_sums(&dir.join("histograms.hlog"));
    assert_percentiles(&s["overall"]["latency_ms"], &sums[""], "overall latency");
    for op in ["issue", "health"] {
        assert_percentiles(&s["ops"][op]["latency_ms"], &sums[&format!("{op}:latency")], op);
        assert_percentiles(&s["ops"][op]["service_ms"], &sums[&format!("{op}:service")], op);
        let lag = &sums[&format!("{op}:send_lag")];
        assert_eq!(s["ops"][op]["send_lag_ms"]["p99"].as_f64().unwrap(), ms(lag, 0.99));
    }

    // latency.hgrm: HdrHistogram's percentile text, values in ms to 3 decimals.
    let text = std::fs::read_to_string(dir.join("latency.hgrm")).unwrap();
    let rows: Vec<(f64, f64, u64)> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            (c[0].parse().unwrap(), c[1].parse().unwrap(), c[2].parse().unwrap())
        })
        .collect();
    let lat = &s["overall"]["latency_ms"];
    let count = lat["count"].as_u64().unwrap();
    assert_eq!(rows.last().unwrap().2, count, "total count");
    assert!(text.contains(&format!("Total count    = {count:>12}]")));
    assert!((rows.last().unwrap().0 - lat["max"].as_f64().unwrap()).abs() < 0.0005, "max");
    let mean: f64 = text.split("Mean    =").nth(1).unwrap().split(',').next().unwrap().trim().parse().unwrap();
    assert!((mean - lat["mean"].as_f64().unwrap()).abs() < 0.0015, "mean {mean} vs {}", lat["mean"]);
    for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        // The percentile lies between the last line below q and the first line at or above it.
        let p = lat[key].as_f64().unwrap();
        let i = rows.iter().position(|r| r.1 >= q).unwrap();
        assert!(rows[i].0 + 0.0005 >= p, "{key}: line {:?} below {p}", rows[i]);
        assert!(i == 0 || rows[i - 1].0 <= p + 0.0005, "{key}: line {:?} above {p}", rows[i - 1]);
    }
}
