//! A hostile world: target URLs that are not exactly valid, and targets that misbehave in
//! every way a TCP peer can. Every server here is written in the test (see [`peer`]),
//! listens on 127.0.0.1:0 and stops when its guard drops; every run is short and low-rate
//! (20 requests/s for 1 s unless said otherwise).
//!
//! Each run is watched while it runs (its RSS polled from /proc) and then held to what
//! the README promises: a complete report folder, every scheduled request accounted for,
//! errors in the right class, and an end within the schedule plus the documented drain.

pub mod peer;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use peer::{Conn, Peer};

use crate::{assert_ends_in_bound, einv, run_in_root, stderr, stdout, summary};

/// A URL that is not exactly valid is bad input for `run --target` and for a profile
/// alike: exit 2, nothing written, and credentials in it are never printed.
#[test]
fn target_urls_that_are_not_exactly_valid_are_refused_without_printing_credentials() {
    let cases = [
        ("http://127.0.0.1:99999", "above 65535"),
        ("http://127.0.0.1:0", "port 0"),
        ("http://127.0.0.1:8080/api#v1", "fragment"),
        ("http://127.0.0.1:8080/?tenant=1", "query"),
        ("http://invoicer:s3cret@127.0.0.1:8080", "header"),
        ("http://invoicer:s3cret@127.0.0.1:99999", "header"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (url, says) in cases {
        let out = dir.path().join("report");
        let o = run_in_root(&["run", "profiles/smoke.toml", "--target", url, "--out", out.to_str().unwrap()]);
        let (err, text) = (stderr(&o), stdout(&o));
        assert_eq!(o.status.code(), Some(2), "{url}: {err}");
        assert!(err.contains("--target") && err.contains(says), "{url}: {err}");
        assert!(!err.contains("s3cret") && !text.contains("s3cret"), "{url}: credentials printed: {err}{text}");
        assert!(!out.exists(), "{url}: wrote {}", out.display());

        let profile = dir.path().join("p.toml");
        let smoke = std::fs::read_to_string(crate::root().join("profiles/smoke.toml")).unwrap();
        std::fs::write(&profile, smoke.replace("url = \"builtin\"", &format!("url = {url:?}"))).unwrap();
        let o = run_in_root(&["validate", profile.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "validate {url}: {err}");
        assert!(err.contains("target.url") && err.contains(says), "validate {url}: {err}");
        assert!(!err.contains("s3cret") && !stdout(&o).contains("s3cret"), "validate {url}: {err}");
    }
}

/// The request timeout of the hostile runs, seconds: the drain's bound.
const REQUEST_TIMEOUT_S: f64 = 0.5;
/// `[target]` keys of the hostile runs: enough connections that 20 requests/s never wait
/// for one, even when each takes the whole request timeout.
const TARGET: &str = "connections = 16\nrequest-timeout = \"500ms\"";
/// The schedule of every hostile run unless a test says otherwise: 20 requests.
const LOAD: &str = "[[load.stage]]\nkind = \"constant\"\nrate = 20\nduration = \"1s\"";
/// Far above anything a 1 s run of 20 small requests needs; a leak or an unbounded
/// buffer (an endless body kept, an endless header block) would cross it.
const RSS_LIMIT_KIB: u64 = 200 * 1024;
/// A run that has not ended by then is hung: it is killed and the test fails.
const HUNG: Duration = Duration::from_secs(90);

/// A profile against `url`: `[target]` keys (such as [`TARGET`]), the `[load]` stages and
/// op extras.
fn profile(url: &str, target: &str, load: &str, op: &str) -> String {
    format!(
        r#"schema = 1
name = "hostile"
[target]
url = "{url}"
connect-timeout = "300ms"
{target}
[load]
{load}
[[op]]
name = "query"
path = "/api/v1/invoices/1"
{op}
"#
    )
}

/// One run, watched while it ran.
struct Ran {
    code: Option<i32>,
    s: serde_json::Value,
    out: PathBuf,
    max_rss_kib: u64,
    text: String,
    _dir: tempfile::TempDir,
}

impl Ran {
    fn requests(&self, field: &str) -> u64 {
        self.s["overall"]["requests"][field].as_u64().unwrap_or_else(|| panic!("requests.{field}: {}", self.s))
    }

    fn errors(&self, class: &str) -> u64 {
        self.s["overall"]["errors"][class].as_u64().unwrap_or(0)
    }

    fn f64(&self, path: &[&str]) -> f64 {
        let v = path.iter().fold(&self.s, |v, k| &v[*k]);
        v.as_f64().unwrap_or_else(|| panic!("{}: {}", path.join("."), self.s))
    }
}

/// Called with the child's pid and its report folder once the run is underway.
type Signal = dyn Fn(u32, &Path);

/// `einv-load run` of `profile`; `during` gets the child's pid and the report folder
/// once the run is underway (for signals). Polls the child's VmRSS every 20 ms.
fn watch(profile: &str, during: Option<&Signal>) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let (file, out) = (dir.path().join("p.toml"), dir.path().join("report"));
    std::fs::write(&file, profile).unwrap();
    let mut child = einv()
        .current_dir(crate::root())
        .args(["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-progress"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipes = [child.stdout.take().map(drain_pipe), child.stderr.take().map(drain_pipe)];
    let (began, mut max_rss_kib, mut signalled) = (Instant::now(), 0, during.is_none());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        max_rss_kib = max_rss_kib.max(rss_kib(child.id()));
        if !signalled && underway(&out) {
            during.unwrap()(child.id(), &out);
            signalled = true;
        }
        if began.elapsed() > HUNG {
            let _ = child.kill();
            panic!("the run did not end within {HUNG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let [out_text, err_text] = pipes.map(|p| p.map(|t| t.join().unwrap()).unwrap_or_default());
    let text = format!("{out_text}{err_text}");
    let s = summary(&out);
    Ran { code: status.code(), s, out, max_rss_kib, text, _dir: dir }
}

fn drain_pipe(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// VmRSS of process `pid` in KiB (0 once it is gone).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The run has written its first interval: it is sending.
fn underway(out: &Path) -> bool {
    let csv = std::fs::read_to_string(out.join("timeseries.csv.tmp")).unwrap_or_default();
    csv.lines().count() >= 2
}

/// What every hostile run must show, whatever the peer did: a complete report folder,
/// every scheduled request accounted for, bounded memory, an end within the schedule
/// plus the drain bound, and rates measured over the schedule, not the drain.
fn assert_sound(ran: &Ran, drain_limit_s: f64) {
    for f in ["summary.json", "timeseries.csv", "histograms.hlog", "index.html"] {
        let len = std::fs::metadata(ran.out.join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} missing or empty:\n{}", ran.text);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&ran.out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let (scheduled, sent) = (ran.requests("scheduled"), ran.requests("sent"));
    assert_eq!(scheduled, sent + ran.requests("skipped") + ran.requests("unsent"), "{}", ran.s);
    assert!(ran.max_rss_kib < RSS_LIMIT_KIB, "RSS reached {} KiB", ran.max_rss_kib);
    // The figures, for the record (`--nocapture` shows them).
    let (duration, drain) = (ran.f64(&["run", "duration_s"]), ran.f64(&["run", "drain_s"]));
    eprintln!(
        "max RSS {} KiB, sending {duration:.3} s, drain {drain:.3} s, errors {}",
        ran.max_rss_kib, ran.s["overall"]["errors"]
    );
    assert_ends_in_bound(&ran.s, drain_limit_s);
    let achieved = ran.f64(&["overall", "rate", "achieved_per_s"]);
    let over_schedule = sent as f64 / ran.f64(&["run", "duration_s"]);
    assert!((achieved - over_schedule).abs() < 0.01, "achieved {achieved}/s is sent / duration_s, not the drain");
}

/// A run of the default profile against a peer; then the checks every run passes, the
/// exit code, and that every error is of class `class` (`None`: no errors at all).
fn against(behave: peer::Behaviour, code: i32, class: Option<&str>) -> Ran {
    let peer = Peer::start(behave);
    let ran = watch(&profile(&peer.url(), TARGET, LOAD, ""), None);
    drop(peer);
    judge(ran, code, class)
}

fn judge(ran: Ran, code: i32, class: Option<&str>) -> Ran {
    assert_eq!(ran.code, Some(code), "{}", ran.text);
    assert_sound(&ran, REQUEST_TIMEOUT_S);
    assert_eq!(ran.requests("scheduled"), 20, "{}", ran.s);
    assert_eq!(ran.requests("unsent"), 0, "nothing is dropped when the run ends by itself: {}", ran.s);
    let errors = &ran.s["overall"]["errors"];
    match class {
        None => assert_eq!(ran.requests("ok"), 20, "{}", ran.s),
        Some(class) => {
            assert_eq!(ran.errors(class), ran.requests("sent"), "every request failed as {class}: {errors}");
            assert_eq!(ran.requests("sent"), 20, "{}", ran.s);
        }
    }
    ran
}

/// The peer's answers, raw.
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn a_peer_that_accepts_and_closes_is_a_reset() {
    against(|_| {}, 3, Some("reset"));
}

#[test]
fn a_reset_in_the_middle_of_a_body_is_a_reset() {
    let rst_mid_body = |c: &mut Conn| {
        if c.read_request() && c.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789") {
            std::thread::sleep(Duration::from_millis(20));
            c.reset();
        }
    };
    against(rst_mid_body, 3, Some("reset"));
}

#[test]
fn garbage_instead_of_http_is_a_protocol_error() {
    against(|c| c.answer_once(b"\x00\x01\x02 this is no HTTP at all\r\n\r\n"), 3, Some("protocol"));
}

#[test]
fn a_header_block_that_never_ends_is_a_protocol_error() {
    let endless_headers = |c: &mut Conn| {
        if c.read_request() && c.send(b"HTTP/1.1 200 OK\r\n") {
            while c.alive() && c.send(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n") {}
        }
    };
    against(endless_headers, 3, Some("protocol"));
}

#[test]
fn a_chunked_body_that_never_ends_times_out_in_bounded_memory() {
    let endless_chunks = |c: &mut Conn| {
        let chunk = [b"1000\r\n".as_slice(), &[b'x'; 4096], b"\r\n"].concat();
        if c.read_request() && c.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") {
            while c.alive() && c.send(&chunk) {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    };
    let ran = against(endless_chunks, 3, Some("timeout"));
    assert!(ran.f64(&["overall", "latency_ms", "p50"]) >= REQUEST_TIMEOUT_S * 999.0, "{}", ran.s);
}

#[test]
fn bad_chunk_framing_is_a_protocol_error() {
    let bad_chunks = |c: &mut Conn| {
        c.serve(|c| c.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz-not-a-size\r\nxx\r\n0\r\n\r\n"))
    };
    against(bad_chunks, 3, Some("protocol"));
}

#[test]
fn a_body_shorter_than_its_content_length_is_a_reset() {
    against(|c| c.answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"), 3, Some("reset"));
}

#[test]
fn a_peer_that_never_reads_times_out() {
    let peer = Peer::start(|c| c.hold());
    // A body larger than the socket buffers: the write itself blocks.
    let body = format!("body = \"{}\"", "x".repeat(1 << 20));
    let ran = watch(&profile(&peer.url(), TARGET, LOAD, &body), None);
    drop(peer);
    judge(ran, 3, Some("timeout"));
}

#[test]
fn a_listener_whose_backlog_is_full_is_a_connect_timeout() {
    let peer = Peer::backlog_full();
    let ran = watch(&profile(&peer.url(), TARGET, LOAD, ""), None);
    drop(peer);
    judge(ran, 3, Some("connect_timeout"));
}

#[test]
fn an_answer_written_one_byte_at_a_time_is_ok() {
    let one_byte_writes = |c: &mut Conn| {
        c.serve(|c| {
            OK.iter().all(|b| {
                std::thread::sleep(Duration::from_millis(1));
                c.send(&[*b])
            })
        })
    };
    against(one_byte_writes, 0, None);
}

#[test]
fn informational_answers_before_the_final_one_are_skipped() {
    let informational = |c: &mut Conn| {
        c.serve(|c| c.send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n") && c.send(OK))
    };
    let ran = against(informational, 0, None);
    assert_eq!(ran.s["overall"]["status"]["200"], 20, "{}", ran.s);
}

/// A body that trickles out is slow, not broken: ok, and its latency covers the body.
#[test]
fn a_trickling_body_is_ok_and_timed_to_its_last_byte() {
    let trickle = |c: &mut Conn| {
        c.serve(|c| {
            c.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
                && (0..10).all(|_| {
                    std::thread::sleep(Duration::from_millis(20));
                    c.send(b"x")
                })
        })
    };
    let ran = against(trickle, 0, None);
    // Ten writes 20 ms apart: no body can be complete in less than 200 ms.
    assert!(ran.f64(&["overall", "latency_ms", "p50"]) >= 200.0, "{}", ran.s);
    assert!(ran.f64(&["overall", "phases", "ttfb", "p50"]) < ran.f64(&["overall", "latency_ms", "p50"]));
}

/// This client never asks to switch protocols: a 101 is no answer to its request.
#[test]
fn an_unsolicited_101_is_a_protocol_error() {
    let upgrade = |c: &mut Conn| {
        if c.read_request() && c.send(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n")
        {
            c.hold();
        }
    };
    let ran = against(upgrade, 3, Some("protocol"));
    assert_eq!(ran.s["overall"]["status"]["101"], 20, "the status is still counted: {}", ran.s);
}

#[test]
fn a_status_no_server_sends_is_a_protocol_error_not_a_5xx() {
    let ran = against(|c| c.serve(|c| c.send(b"HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n")), 3, Some("protocol"));
    assert_eq!(ran.s["overall"]["status"]["999"], 20, "{}", ran.s);
}

/// A target that never answers: every request is recorded as a timeout at its deadline
/// (its intended time + the request timeout, so that time queued for a connection counts
/// against it), nothing is lost, and the run ends within its schedule plus the drain.
/// Four connections carry 20 requests of 2 s each, so most requests wait for one.
#[test]
fn a_target_that_never_answers_times_every_request_to_its_deadline_and_drains_in_bound() {
    let peer = Peer::start(Conn::never_answer);
    let ran = watch(&profile(&peer.url(), "connections = 4\nrequest-timeout = \"2s\"", LOAD, ""), None);
    drop(peer);
    assert_eq!(ran.code, Some(3), "no request succeeded: {}", ran.text);
    assert_sound(&ran, 2.0);
    assert_eq!((ran.requests("sent"), ran.errors("timeout"), ran.requests("unsent")), (20, 20, 0), "{}", ran.s);
    assert_eq!(ran.s["overall"]["latency_ms"]["count"], 20, "every timeout is timed: {}", ran.s);
    // Recorded when its deadline timer fires: never sooner, and later only by as much as
    // that timer is late. Half a second of lateness on a runtime carrying 20 requests is
    // a stalled machine. A request that queued and then got a whole timeout of its own on
    // the wire (the old rule) ran on to 4 s, or to the drain's cut at 3 s.
    let (p50, max) = (ran.f64(&["overall", "latency_ms", "p50"]), ran.f64(&["overall", "latency_ms", "max"]));
    assert!(p50 >= 1998.0 && max <= 2500.0, "latency p50 {p50} ms, max {max} ms for a 2 s deadline");
}

/// Ctrl-C stops sending; requests in flight get a 2 s grace, then are recorded as timeouts
/// at that moment (with their latency so far), and requests still queued count as unsent.
#[test]
fn ctrl_c_records_requests_in_flight_as_timeouts_and_queued_ones_as_unsent() {
    let peer = Peer::start(Conn::never_answer);
    let long = "[[load.stage]]\nkind = \"constant\"\nrate = 20\nduration = \"60s\"";
    let interrupt = |pid: u32, _: &Path| {
        let sent = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
        assert!(sent.success());
    };
    let ran = watch(&profile(&peer.url(), "connections = 4\nrequest-timeout = \"10s\"", long, ""), Some(&interrupt));
    drop(peer);
    assert_eq!(ran.code, Some(3), "{}", ran.text);
    assert_eq!(ran.s["interrupted"], true);
    assert_sound(&ran, 2.0);
    // The target holds every request: the four connections each had one in flight.
    assert_eq!((ran.requests("sent"), ran.errors("timeout")), (4, 4), "{}", ran.s);
    assert_eq!(ran.requests("unsent"), ran.requests("scheduled") - 4, "the queued ones were never sent: {}", ran.s);
    // Each was in flight from before the stop until the cut 2 s after it.
    assert!(ran.f64(&["overall", "latency_ms", "p50"]) >= 1998.0, "{}", ran.s);
}

/// A rendered request that is not valid HTTP (here a header from a feeder row holding a
/// DEL byte) is not sent and counted as unsendable, apart from "no data"; the warning
/// about it never shows an `${env.*}` value, neither as written nor percent-encoded into
/// the path.
#[test]
fn unsendable_requests_are_counted_apart_and_their_warning_masks_secrets() {
    let peer = Peer::start(|c| c.serve(|c| c.send(OK)));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rows.csv"), "value\nfine\nbad\x7fvalue\n").unwrap();
    let op = "headers = { x-row = \"${feeder.rows.value}\" }\n\
              [[feeder]]\nname = \"rows\"\npath = \"rows.csv\"\nmode = \"circular\"";
    let text = profile(&peer.url(), TARGET, LOAD, op).replace("/api/v1/invoices/1", "/api/${env.EINV_E2E_SECRET}/x");
    std::fs::write(dir.path().join("p.toml"), text).unwrap();
    let out = dir.path().join("report");
    let o = einv()
        .current_dir(crate::root())
        .env("EINV_E2E_SECRET", "s3cr et/+")
        .args(["run", dir.path().join("p.toml").to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-progress"])
        .output()
        .unwrap();
    drop(peer);
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("not valid HTTP (its header x-row; path \"/api/***/x\")"), "{all}");
    assert!(!all.contains("s3cr") && !all.contains("et%2F%2B"), "a secret was printed: {all}");
    let s = summary(&out);
    let r = &s["overall"]["requests"];
    assert_eq!((&r["sent"], &r["skipped"], &r["unsendable"]), (&10.into(), &10.into(), &10.into()), "{s}");
    let warnings = s["warnings"].to_string();
    assert!(warnings.contains("op query: 10 requests were not sent") && !warnings.contains("s3cr"), "{warnings}");
    assert!(stdout(&o).contains("skipped   10 (not valid HTTP: see the warnings)"), "{}", stdout(&o));
}
