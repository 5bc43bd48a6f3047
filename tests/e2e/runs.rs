//! Whole runs against servers the tests start on 127.0.0.1, bounded in time and count.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::{einv, run_in_root, stderr, stdout, summary};

/// A profile in a temp folder, run with `--out <tmp>/report`.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(profile: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.toml"), profile).unwrap();
        Case { dir }
    }

    fn profile(&self) -> String {
        self.dir.path().join("p.toml").display().to_string()
    }

    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("report")
    }

    fn run(&self, extra: &[&str]) -> std::process::Output {
        let (p, out) = (self.profile(), self.out().display().to_string());
        let mut args = vec!["run", p.as_str(), "--out", out.as_str(), "--no-progress"];
        args.extend_from_slice(extra);
        run_in_root(&args)
    }
}

fn builtin_profile(load: &str, builtin: &str, extra: &str) -> String {
    format!(
        r#"schema = 1
name = "e2e"
[target]
url = "builtin"
connections = 16
request-timeout = "5s"
[target.builtin]
{builtin}
[load]
{load}
[[op]]
name = "issue"
weight = 1
method = "POST"
path = "/api/v1/invoices"
body = {{ generator = "invoice" }}
[[op]]
name = "health"
weight = 1
path = "/healthz"
{extra}
"#
    )
}

const CONSTANT_2S: &str = "[[load.stage]]\nkind = \"constant\"\nrate = 200\nduration = \"2s\"";

#[test]
fn run_writes_a_complete_report_with_exact_counts() {
    let case = Case::new(&builtin_profile(CONSTANT_2S, "issue-hold = \"1ms\"", "[slo]\np99 = \"500ms\""));
    let o = case.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    for f in [
        "summary.json",
        "timeseries.csv",
        "histograms.hlog",
        "latency.hgrm",
        "latency-spectrum.svg",
        "latency-timeline.svg",
    ] {
        let len = std::fs::metadata(case.out().join(f)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0, "{f} missing or empty");
    }
    let s = summary(&case.out());
    assert_eq!(s["schema_version"], 1);
    assert_eq!(s["overall"]["requests"]["sent"], 400, "uniform 200/s for 2 s is exactly 400 requests");
    assert_eq!(s["overall"]["requests"]["scheduled"], 400);
    assert_eq!(s["overall"]["requests"]["ok"], 400);
    assert_eq!(s["overall"]["requests"]["errors"], 0);
    assert_eq!(s["overall"]["rate"]["target_per_s"], 200.0);
    assert_eq!(s["slo"]["passed"], true);
    assert_eq!(s["interrupted"], false);
    let ops = &s["ops"];
    assert_eq!(
        ops["issue"]["requests"]["sent"].as_u64().unwrap() + ops["health"]["requests"]["sent"].as_u64().unwrap(),
        400
    );
    for key in ["p50", "p90", "p99", "p999", "max"] {
        assert!(s["overall"]["latency_ms"][key].as_f64().unwrap() > 0.0, "latency {key}");
        assert!(s["overall"]["service_ms"][key].is_number(), "service {key}");
    }
    for key in ["p50", "p99", "max"] {
        assert!(s["overall"]["send_lag_ms"][key].is_number());
    }
    // Nothing half-written is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(case.out())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `--threads N` sets the generator's threads and the report says how many ran; the
/// default is what the process may use; 0 is bad input.
#[test]
fn threads_are_the_users_choice_and_the_report_says_how_many() {
    let case = Case::new(&builtin_profile(CONSTANT_2S, "issue-hold = \"1ms\"", ""));
    let o = case.run(&["--threads", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&case.out());
    assert_eq!(s["run"]["threads"], 1);
    assert_eq!(s["overall"]["requests"]["sent"], 400, "one thread sends the whole schedule");
    assert!(stdout(&o).contains(", 1 thread)"), "{}", stdout(&o));
    let html = std::fs::read_to_string(case.out().join("index.html")).unwrap();
    assert!(html.contains("1 generator thread "), "the page says it too");
    let expected = std::thread::available_parallelism().map_or(1, |n| n.get());
    let case = Case::new(&builtin_profile(CONSTANT_2S, "issue-hold = \"1ms\"", ""));
    assert_eq!(case.run(&[]).status.code(), Some(0));
    assert_eq!(summary(&case.out())["run"]["threads"], expected as u64, "the cores this process may use");
    let o = case.run(&["--threads", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--threads"), "{}", stderr(&o));
}

#[test]
fn failed_slo_exits_1_and_says_so() {
    let case = Case::new(&builtin_profile(CONSTANT_2S, "issue-hold = \"5ms\"", "[slo]\np50 = \"1us\""));
    let o = case.run(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("SLO       FAIL"), "{}", stdout(&o));
    assert_eq!(summary(&case.out())["slo"]["passed"], false);
}

/// wrk2's demonstration of coordinated omission: the target stalls 1 s in every 5 s.
/// Requests that were due during the stall wait for a connection; measured from their
/// intended send time (latency) they show the stall, measured from when they actually
/// went out (service) most of them do not.
#[test]
fn stalls_show_in_latency_not_in_service_time() {
    stall_shows_in_latency_not_in_service_time("", 4);
}

/// The same over HTTP/2 (prior-knowledge h2c to the built-in target): 2 connections of
/// 2 streams are the same 4 requests in flight, and a request due in the stall waits for a
/// stream as it waited for a connection.
#[test]
fn stalls_show_in_latency_not_in_service_time_over_http2() {
    stall_shows_in_latency_not_in_service_time("protocol = \"http2\"\nmax-streams = 2", 2);
}

/// The stall test on `connections` connections with `[target]` extras `target`.
fn stall_shows_in_latency_not_in_service_time(target: &str, connections: u32) {
    let load = "[[load.stage]]\nkind = \"constant\"\nrate = 200\nduration = \"10s\"";
    let builtin = "issue-hold = \"0s\"\nquery-hold = \"0s\"\n[target.builtin.stall]\nevery = \"5s\"\nfor = \"1s\"";
    let src = builtin_profile(load, builtin, "").replace("connections = 16", &format!("connections = 16\n{target}"));
    let case = Case::new(&src);
    let o = case.run(&["--connections", &connections.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&case.out());
    let latency = s["overall"]["latency_ms"]["p99"].as_f64().unwrap();
    let service = s["overall"]["service_ms"]["p99"].as_f64().unwrap();
    // The top 1 % of 2000 requests waited out most of a 1 s stall. After it, its backlog
    // (200 requests on 4 slots) is served in 50 service times, and a late timer adds a
    // little: a latency past that would be timed from the wrong moment.
    let bound = 1000.0 + 50.0 * service + 500.0;
    // Printed for the closing notes, not asserted beyond the bounds here.
    eprintln!("stall {target:?}: latency p99 {latency:.1} ms, service p99 {service:.1} ms");
    assert!((800.0..bound).contains(&latency), "latency p99 {latency} ms should be near the 1 s stall");
    assert!(service < latency / 10.0, "service p99 {service} ms should be far below latency p99 {latency} ms");
    assert_eq!(s["overall"]["requests"]["sent"], 2000);
    if !target.is_empty() {
        assert_eq!(s["connections"]["http2"], s["connections"]["opened"], "{}", s["connections"]);
        assert_eq!(s["connections"]["streams"], 2, "{}", s["connections"]);
    }
    // The summary says why the send lag grew: the connections (streams) were all busy.
    let warnings = s["warnings"].to_string();
    let slots = match target.is_empty() {
        true => format!("waited for one of the {connections} connections."),
        false => {
            format!("waited for one of the {} stream slots ({connections} connections × 2 streams)", connections * 2)
        }
    };
    assert!(warnings.contains(&slots), "{warnings}");
}

/// Start `einv-load serve` on a free port; returns the child and its base URL.
pub fn serve() -> (Child, String) {
    let mut child =
        einv().args(["serve", "--addr", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().to_string();
    (child, url)
}

#[test]
fn runs_against_an_external_target() {
    let (mut server, url) = serve();
    let case = Case::new(&builtin_profile(CONSTANT_2S, "", ""));
    let o = case.run(&["--target", &url]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&case.out());
    assert_eq!(s["overall"]["requests"]["ok"], 400);
    assert!(s["run"]["target"].as_str().unwrap().starts_with(&url));
}

/// Refused connects are counted, not timed: a latency limit then has nothing to judge,
/// and fails (it used to read 0 ms and pass).
#[test]
fn refused_connections_are_counted_and_reported() {
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let case = Case::new(&builtin_profile(CONSTANT_2S, "", "[slo]\np99 = \"100ms\""));
    let o = case.run(&["--target", &format!("http://127.0.0.1:{port}"), "--duration", "1s"]);
    assert_eq!(o.status.code(), Some(3), "no request succeeded: {}", stderr(&o));
    assert!(stderr(&o).contains("no request succeeded: all 200 sent failed (connect_refused 200)"), "{}", stderr(&o));
    let s = summary(&case.out());
    assert_eq!(s["overall"]["errors"]["connect_refused"], 200);
    assert_eq!(s["overall"]["requests"]["sent"], 200);
    let check = &s["slo"]["checks"][0];
    assert_eq!((&check["passed"], &check["measured"]), (&false.into(), &false.into()), "{s}");
    assert!(s["warnings"].to_string().contains("no request succeeded"), "{s}");
    assert!(stdout(&o).contains("FAIL latency p99 not measured"), "{}", stdout(&o));
}

/// A schedule too thin to hold one arrival is bad input, found by `validate` and refused
/// by `run` before anything starts, whether the profile or a flag made it so.
#[test]
fn a_schedule_without_arrivals_is_bad_input_for_validate_and_run() {
    let thin = "[[load.stage]]\nkind = \"constant\"\nrate = 0.3\nduration = \"2s\"";
    let case = Case::new(&builtin_profile(thin, "", ""));
    let o = run_in_root(&["validate", &case.profile()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stderr(&o).contains("load.stage: the schedule holds no arrival"), "{}", stderr(&o));
    // 200/s for 2 s, thinned out by flags; and Poisson arrivals at 1/s for 1 s, of which
    // seed 4 draws none (seed 1 draws one).
    let uniform = Case::new(&builtin_profile(CONSTANT_2S, "", ""));
    let poisson = "arrivals = \"poisson\"\n[[load.stage]]\nkind = \"constant\"\nrate = 1\nduration = \"1s\"";
    let poisson = Case::new(&builtin_profile(poisson, "", ""));
    let flags: &[(&Case, &[&str], &str)] = &[
        (&uniform, &["--rate", "0.05", "--duration", "10s"], "--rate: the schedule holds no arrival"),
        (&uniform, &["--duration", "1ns"], "--duration: the schedule holds no arrival"),
        (&uniform, &["--rate", "2", "--shard", "7/8"], "--shard: shard 7/8 has no arrival"),
        (&poisson, &["--seed", "4"], "--seed: the schedule holds no arrival (Poisson"),
    ];
    for (case, flags, says) in flags {
        let o = case.run(flags);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}{}", stdout(&o), stderr(&o));
        assert!(stderr(&o).contains(says), "{flags:?}: {}", stderr(&o));
        assert!(!case.out().exists(), "{flags:?} wrote a report");
    }
    assert_eq!(poisson.run(&["--seed", "1"]).status.code(), Some(0), "seed 1 draws its one arrival");
}

/// A run in which every arrival is skipped (its correlation pool never fills) sent
/// nothing: exit 3, and the report says so; its SLO is never a pass.
#[test]
fn a_run_that_sends_nothing_exits_3_and_never_passes() {
    let profile = builtin_profile(CONSTANT_2S, "", "[slo]\np99 = \"100ms\"\nerror-rate = 0.1")
        .replace("path = \"/healthz\"", "path = \"/api/v1/invoices/${pool.invoice_no}\"")
        .replace("weight = 1\nmethod = \"POST\"", "weight = 0\nmethod = \"POST\"\nextract = { invoice_no = \"/no\" }");
    let case = Case::new(&profile);
    let o = case.run(&[]);
    assert_eq!(o.status.code(), Some(3), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("no request was sent (400 scheduled: 400 skipped for want of data)"), "{}", stderr(&o));
    let s = summary(&case.out());
    assert_eq!((&s["overall"]["requests"]["sent"], &s["overall"]["requests"]["skipped"]), (&0.into(), &400.into()));
    assert_eq!(s["slo"]["passed"], false, "{s}");
    assert!(s["slo"]["checks"].as_array().unwrap().iter().all(|c| c["measured"] == false), "{s}");
    assert!(s["warnings"].to_string().contains("no request was sent"), "{s}");
    let text = stdout(&o);
    assert!(!text.contains("PASS") && text.contains("SLO       FAIL"), "{text}");
}

#[test]
fn sigterm_still_writes_the_report_marked_interrupted() {
    let load = "[[load.stage]]\nkind = \"constant\"\nrate = 100\nduration = \"60s\"";
    let case = Case::new(&builtin_profile(load, "", ""));
    let out = case.out().display().to_string();
    let child = einv()
        .current_dir(crate::root())
        .args(["run", &case.profile(), "--out", &out, "--no-progress"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Signal once the run is sending (it has written an interval), not after a guess.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let csv = Path::new(&out).join("timeseries.csv.tmp");
    while std::fs::read_to_string(&csv).map_or(0, |t| t.lines().count()) < 2 {
        assert!(std::time::Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let s = summary(Path::new(&out));
    assert_eq!(s["interrupted"], true);
    let r = &s["overall"]["requests"];
    let count = |k: &str| r[k].as_u64().unwrap();
    assert_eq!(count("scheduled"), count("sent") + count("skipped") + count("unsent"), "{s}");
    // 100/s until the stop: the arrivals released by then, each at most as late as the
    // run's largest send lag.
    let duration = s["run"]["duration_s"].as_f64().unwrap();
    let lag = s["overall"]["send_lag_ms"]["max"].as_f64().unwrap() / 1000.0;
    let expected = (100.0 * (duration - lag) - 1.0)..=(100.0 * duration + 1.0);
    assert!(expected.contains(&(count("scheduled") as f64)), "{} scheduled in {duration} s: {s}", count("scheduled"));
    assert!(duration >= 1.0, "it was stopped after its first interval, not before");
    crate::assert_ends_in_bound(&s, 2.0);
    assert!(std::path::Path::new(&out).join("latency-timeline.svg").exists());
}

/// Offered load far above what the connections can carry: requests that wait longer than
/// the request timeout for a connection are given up as timeouts (timed from their
/// intended send), so the queue stays bounded and the run ends on time.
#[test]
fn an_overloaded_run_gives_up_on_stale_requests_and_ends_on_time() {
    let load = "[[load.stage]]\nkind = \"constant\"\nrate = 200\nduration = \"2s\"";
    let case = Case::new(&builtin_profile(load, "issue-hold = \"50ms\"\nquery-hold = \"50ms\"", ""));
    let profile = std::fs::read_to_string(case.profile())
        .unwrap()
        .replace("path = \"/healthz\"", "path = \"/api/v1/invoices/26110000000000000001\"");
    std::fs::write(case.profile(), profile.replace("request-timeout = \"5s\"", "request-timeout = \"300ms\"")).unwrap();
    let o = case.run(&["--connections", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&case.out());
    let timeouts = s["overall"]["errors"]["timeout"].as_u64().unwrap_or(0);
    assert!(timeouts > 200, "most of 400 requests cannot be served by 2 connections at 50 ms: {timeouts} timeouts");
    assert_eq!(s["overall"]["requests"]["sent"], 400, "every scheduled request is accounted for");
    crate::assert_ends_in_bound(&s, 0.3);
    assert!(s["overall"]["latency_ms"]["p99"].as_f64().unwrap() >= 300.0, "timeouts count in latency");
}

/// Invoice bodies, an invoice number extracted from each issue and queried later, checks,
/// and injected faults counted by tag.
#[test]
fn correlation_checks_and_injected_faults_are_reported() {
    let profile = r#"schema = 1
name = "corr"
[target]
url = "builtin"
connections = 8
[target.builtin]
issue-hold = "0s"
query-hold = "0s"
[load]
[[load.stage]]
kind = "constant"
rate = 200
duration = "2s"
[workload]
duplicate-rate = 0.05
invalid-rate = 0.05
[[op]]
name = "issue"
weight = 2
method = "POST"
path = "/api/v1/invoices"
headers = { content-type = "application/json", x-request-id = "${uuid}" }
body = { generator = "invoice" }
extract = { invoice_no = "/invoice_no" }
check = { status = [200], equals = { "/code" = "0000" } }
[[op]]
name = "query"
weight = 2
path = "/api/v1/invoices/${pool.invoice_no}"
check = { status = [200], exists = ["/invoice_no"] }
[[op]]
name = "red_flush"
weight = 1
method = "POST"
path = "/api/v1/invoices/${take.invoice_no}/red-flush"
check = { status = [200] }
"#;
    let case = Case::new(profile);
    let o = case.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&case.out());
    let query = &s["ops"]["query"]["requests"];
    // Issues add numbers twice as fast as red-flushes take them, so the capture is empty
    // only until the first issue is answered: by its intended time (within the first few
    // arrivals) plus the longest issue latency this run measured. Twice the queries due in
    // that span, plus Poisson slack, bounds the skips however busy the machine was.
    let first_answer_s = 0.1 + s["ops"]["issue"]["latency_ms"]["max"].as_f64().unwrap() / 1000.0;
    let skip_bound = |op: &str| {
        let scheduled = s["ops"][op]["requests"]["scheduled"].as_u64().unwrap() as f64;
        (scheduled, scheduled * first_answer_s + 10.0) // twice its rate (scheduled / 2 s)
    };
    let skipped = query["skipped"].as_u64().unwrap();
    let (scheduled, bound) = skip_bound("query");
    assert!(
        (skipped as f64) <= bound,
        "only queries before the first issue answered are skipped: {skipped} > {bound:.0} \
         (issue latency max {first_answer_s:.3} s)"
    );
    assert!(query["sent"].as_u64().unwrap() as f64 >= scheduled - bound, "queries drew issued invoice numbers");
    assert_eq!(query["check_failed"], 0, "every drawn number was a real invoice (the target answers 404 otherwise)");
    assert_eq!(
        s["overall"]["requests"]["scheduled"].as_u64().unwrap(),
        400,
        "skipped arrivals still count as scheduled"
    );
    let injected = &s["ops"]["issue"]["injected"];
    let tagged: u64 = ["duplicate", "bad_check_digit", "totals_mismatch", "missing_buyer"]
        .iter()
        .map(|t| injected[t]["sent"].as_u64().unwrap_or(0))
        .sum();
    let issued = s["ops"]["issue"]["requests"]["sent"].as_u64().unwrap();
    assert!(
        tagged > issued / 20 && tagged < issued / 4,
        "about 10% of {issued} issues are injected faults, got {tagged}"
    );
    // The built-in target is a correct invoice service: it answers duplicates with the
    // first invoice and refuses invalid invoices, and neither counts against it.
    for (tag, expected) in [("duplicate", "accept"), ("bad_check_digit", "reject"), ("missing_buyer", "reject")] {
        if injected[tag]["sent"].as_u64().unwrap_or(0) > 0 {
            assert_eq!(injected[tag]["expected"], expected);
            assert_eq!(injected[tag]["as_expected"], 1.0, "{tag}: {}", injected[tag]);
        }
    }
    // A taken number is reversed once: duplicates' answers must not put it back in the pool.
    let (scheduled, bound) = skip_bound("red_flush");
    assert!(s["ops"]["red_flush"]["requests"]["sent"].as_u64().unwrap() as f64 >= (scheduled - bound).max(1.0));
    assert_eq!(s["ops"]["red_flush"]["requests"]["check_failed"], 0, "no invoice reversed twice");
    assert_eq!(s["overall"]["requests"]["errors"], 0, "expected rejections are not errors");
    assert_eq!(s["overall"]["requests"]["check_failed"], 0);
}

/// A recorded trace replays with its own timing, scaled by `speed`; a broken trace is bad
/// input that names its line before anything is sent.
#[test]
fn replays_a_trace_at_its_speed_and_names_bad_trace_lines() {
    let mut trace = String::from("offset,op\n");
    for i in 0..40 {
        trace.push_str(&format!("{:.3},{}\n", f64::from(i) * 0.05, if i % 4 == 0 { "issue" } else { "health" }));
    }
    let profile = builtin_profile("mode = \"replay\"\ntrace = \"trace.csv\"\nspeed = 2.0", "", "");
    let case = Case::new(&profile);
    std::fs::write(case.dir.path().join("trace.csv"), &trace).unwrap();
    let o = case.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&case.out());
    assert_eq!(s["overall"]["requests"]["sent"], 40);
    assert_eq!(s["ops"]["issue"]["requests"]["sent"], 10, "each line's op is honoured");
    let planned = s["run"]["planned_duration_s"].as_f64().unwrap();
    assert!((0.9..1.1).contains(&planned), "1.95 s of trace at speed 2 plans about 1 s, got {planned}");

    // A line's own body goes to its op's path (here a static one), as written.
    std::fs::write(case.dir.path().join("hello.json"), "{\"hello\":1}").unwrap();
    std::fs::write(case.dir.path().join("trace.csv"), "offset,op,body\n0.1,health,hello.json\n").unwrap();
    let g = run_in_root(&["generate", &case.profile(), "--count", "1"]);
    let line: serde_json::Value = serde_json::from_str(stdout(&g).trim()).unwrap();
    assert_eq!((line["path"].as_str(), line["body"].as_str()), (Some("/healthz"), Some("{\"hello\":1}")));

    std::fs::write(case.dir.path().join("trace.csv"), "offset,op\n0.5,issue\n0.2,health\n").unwrap();
    let bad = run_in_root(&["validate", &case.profile()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("trace.csv:3"), "names the out-of-order line: {}", stderr(&bad));
}

/// Faults injected into the built-in target are counted by class, and the run goes on.
#[test]
fn injected_target_faults_are_counted_by_class() {
    let builtin = "reset-rate = 0.1\nerror-burst = { every = \"1s\", for = \"200ms\" }";
    let case = Case::new(&builtin_profile(CONSTANT_2S, builtin, ""));
    let o = case.run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(&case.out());
    let errors = &s["overall"]["errors"];
    let (resets, bursts) = (errors["reset"].as_u64().unwrap_or(0), errors["http_5xx"].as_u64().unwrap_or(0));
    assert!((10..80).contains(&resets), "about 10% of 400 requests dropped: {resets}");
    assert!(
        (20..120).contains(&bursts),
        "up to 20% of the time answers 503 (windows follow the target's clock): {bursts}"
    );
    assert_eq!(s["overall"]["requests"]["sent"], 400, "every request is accounted for");
}
