//! Watching a run live: `--metrics-addr` scraped while a run against `serve` goes on, and
//! `--json-stream -`; both end with the totals of summary.json. Every request goes to
//! servers this test starts on 127.0.0.1.
//!
//! With EINV_PROMETHEUS_PYTHON set to a Python that has `prometheus_client` (CI installs
//! one), the scrapes are also parsed by the official parsers (scripts/metrics-check.py).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{einv, root, serve, stderr, summary};

/// GET /metrics from `addr`: the status line and the body.
fn scrape(addr: SocketAddr) -> Option<(String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

/// The value of the sample line `series` (name and labels, as written) in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Every counter sample (`..._total{...} N`) of a scrape.
fn counters(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(s, _)| !s.starts_with('#') && s.split('{').next().is_some_and(|n| n.ends_with("_total")))
        .filter_map(|(s, v)| Some((s.to_string(), v.parse().ok()?)))
        .collect()
}

#[test]
fn metrics_and_json_lines_end_equal_to_summary_json() {
    let (_served, port) = serve::start({
        let mut c = einv();
        c.args(["serve", "--addr", "127.0.0.1:0"]);
        c
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let target = format!("http://127.0.0.1:{port}");
    let mut child = einv()
        .current_dir(root())
        .args(["run", "profiles/smoke.toml", "--target", &target, "--rate", "100", "--duration", "3s"])
        .args(["--no-progress", "--metrics-addr", "127.0.0.1:0", "--metrics-linger", "60s", "--json-stream", "-"])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The address line first; the rest of stderr is drained so that the run never blocks.
    let (tx, rx) = mpsc::channel();
    let err = BufReader::new(child.stderr.take().unwrap());
    let err_reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in err.lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("einv-load metrics on http://") {
                let _ = tx.send(url.trim_end_matches("/metrics").to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let stdout = child.stdout.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stdout).read_to_string(&mut text);
        text
    });
    let addr: SocketAddr =
        rx.recv_timeout(Duration::from_secs(60)).expect("the bound address on stderr").parse().unwrap();

    // Scrape until the report is written (the linger keeps the endpoint up after it).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut during = Vec::new();
    while !out.join("summary.json").exists() {
        assert!(Instant::now() < deadline, "the run did not finish");
        if let Some((status, body)) = scrape(addr) {
            assert!(status.contains("200"), "{status}");
            during.push(body);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, last) = scrape(addr).expect("the endpoint serves after the report is written");
    let _ = child.kill();
    let _ = child.wait();
    let (lines, err) = (out_reader.join().unwrap(), err_reader.join().unwrap());
    let s = summary(&out);

    // The final scrape is marked final and its counters are summary.json's.
    assert_eq!(value(&last, "einv_load_finished"), Some(1.0), "{last}");
    assert!(last.ends_with("# EOF\n"));
    for (op, o) in s["ops"].as_object().unwrap() {
        let r = &o["requests"];
        let got = |series: String| value(&last, &series).unwrap_or_else(|| panic!("{series} in {last}"));
        assert_eq!(got(format!("einv_load_requests_total{{op=\"{op}\",class=\"ok\"}}")), r["ok"].as_f64().unwrap());
        assert_eq!(got(format!("einv_load_skipped_total{{op=\"{op}\"}}")), r["skipped"].as_f64().unwrap());
        assert_eq!(got(format!("einv_load_queued_total{{op=\"{op}\"}}")), r["queued"].as_f64().unwrap());
        for (class, n) in o["errors"].as_object().unwrap() {
            let series = format!("einv_load_requests_total{{op=\"{op}\",class=\"{class}\"}}");
            assert_eq!(got(series), n.as_f64().unwrap());
        }
        for (code, n) in o["status"].as_object().unwrap() {
            assert_eq!(got(format!("einv_load_responses_total{{op=\"{op}\",status=\"{code}\"}}")), n.as_f64().unwrap());
        }
        let by_class: f64 = counters(&last)
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("einv_load_requests_total{{op=\"{op}\",")))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(by_class, r["sent"].as_f64().unwrap(), "op {op}: the classes add up to sent");
        let count = got(format!("einv_load_latency_seconds_count{{op=\"{op}\"}}"));
        assert_eq!(count, o["latency_ms"]["count"].as_f64().unwrap());
        assert_eq!(got(format!("einv_load_latency_seconds_bucket{{le=\"+Inf\",op=\"{op}\"}}")), count);
    }

    // Scraped while it ran: counters only grow, up to the final ones.
    let running: Vec<&String> = during.iter().filter(|b| value(b, "einv_load_finished") == Some(0.0)).collect();
    assert!(!running.is_empty(), "at least one scrape while the run went on; stderr: {err}");
    let mut before = BTreeMap::new();
    for body in during.iter().chain([&last]) {
        let now = counters(body);
        for (k, v) in &before {
            assert!(now.get(k).is_some_and(|n| n >= v), "{k} fell from {v} to {:?}", now.get(k));
        }
        before = now;
    }

    // One JSON object a line, in time order; the last holds the final totals.
    let objects: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert!(objects.len() >= 3, "an interval at 1 s, at 2 s, and the last: {lines}");
    assert!(objects.windows(2).all(|w| w[0]["t_s"].as_f64() < w[1]["t_s"].as_f64()));
    let final_line = objects.last().unwrap();
    assert_eq!((final_line["schema"].as_u64(), final_line["finished"].as_bool()), (Some(1), Some(true)));
    assert!(objects[..objects.len() - 1].iter().all(|o| o["finished"] == false));
    for (op, o) in s["ops"].as_object().unwrap() {
        let (total, r) = (&final_line["ops"][op]["total"], &o["requests"]);
        for key in ["sent", "ok", "skipped", "check_failed", "queued"] {
            assert_eq!(total[key], r[key], "op {op}: {key}");
        }
        assert_eq!((&total["errors"], &total["status"]), (&o["errors"], &o["status"]), "op {op}");
    }
    let sent: u64 = objects
        .iter()
        .flat_map(|o| o["ops"].as_object().unwrap().values())
        .map(|op| op["interval"]["sent"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, s["overall"]["requests"]["sent"].as_u64().unwrap(), "the intervals add up to the run");

    if let Ok(python) = std::env::var("EINV_PROMETHEUS_PYTHON") {
        official_parsers(&python, dir.path(), &last, &during, &out);
    }
}

/// scripts/metrics-check.py: the scrapes parse with `prometheus_client`'s OpenMetrics and
/// classic parsers, and the last one's counters equal summary.json's.
fn official_parsers(python: &str, dir: &std::path::Path, last: &str, during: &[String], out: &std::path::Path) {
    let final_file = dir.join("final.txt");
    std::fs::write(&final_file, last).unwrap();
    let mut args = vec![final_file, out.join("summary.json")];
    for (i, body) in during.iter().enumerate() {
        let f = dir.join(format!("during-{i}.txt"));
        std::fs::write(&f, body).unwrap();
        args.push(f);
    }
    let o =
        std::process::Command::new(python).arg(root().join("scripts/metrics-check.py")).args(&args).output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&o.stdout));
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_taken_metrics_address_is_bad_input() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (_dir, out, o) = crate::run_profile(
        &std::fs::read_to_string(root().join("profiles/smoke.toml")).unwrap(),
        &["--duration", "1s", "--metrics-addr", &addr],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--metrics-addr") && stderr(&o).contains(&addr), "{}", stderr(&o));
    assert!(!out.exists(), "nothing was run");
}

#[test]
fn a_json_stream_that_cannot_be_written_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().display().to_string();
    let (_dir, out, o) = crate::run_profile(
        &std::fs::read_to_string(root().join("profiles/smoke.toml")).unwrap(),
        &["--duration", "1s", "--json-stream", &folder],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--json-stream") && stderr(&o).contains("directory"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing was run");
}
