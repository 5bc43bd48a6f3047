//! Per-phase times and SLO gates: per-op limits, minimum rate, abort-on-fail. Every run
//! goes to the built-in target on 127.0.0.1, bounded in time and count.

use crate::{hlog_count, run_in_root, stderr, stdout, summary};

/// `[target]` extras, `[target.builtin]`, `[load]` and anything after the ops (`[slo]`).
fn profile(target: &str, builtin: &str, load: &str, slo: &str) -> String {
    format!(
        r#"schema = 1
name = "slo-e2e"
[target]
url = "builtin"
{target}
[target.builtin]
{builtin}
[load]
{load}
[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
body = {{ generator = "invoice" }}
[[op]]
name = "health"
path = "/healthz"
{slo}
"#
    )
}

use crate::run_profile as run;

const RATE_200_FOR_2S: &str = "[[load.stage]]\nkind = \"constant\"\nrate = 200\nduration = \"2s\"";

fn phase(s: &serde_json::Value, scope: &str, phase: &str, field: &str) -> f64 {
    let node = if scope == "overall" { &s["overall"] } else { &s["ops"][scope] };
    node["phases"][phase][field].as_f64().unwrap_or_else(|| panic!("{scope}.phases.{phase}.{field} in {s}"))
}

/// Without keep-alive every request opens its own connection: one connect per request.
/// The time to first byte is part of the service time, never more.
#[test]
fn without_keep_alive_every_request_has_a_connect_phase() {
    let (_tmp, out, o) = run(&profile("connections = 8\nkeep-alive = false", "", RATE_200_FOR_2S, ""), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let sent = s["overall"]["requests"]["sent"].as_f64().unwrap();
    assert_eq!(sent, 400.0);
    assert_eq!(phase(&s, "overall", "connect", "count"), sent, "one connect per request");
    assert_eq!(phase(&s, "overall", "ttfb", "count"), sent, "every request got a response head");
    assert_eq!(s["connections"]["opened"].as_f64().unwrap(), sent);
    for scope in ["overall", "issue", "health"] {
        let node = if scope == "overall" { &s["overall"] } else { &s["ops"][scope] };
        let service = &node["service_ms"];
        for q in ["p50", "p99", "max"] {
            let (ttfb, svc) = (phase(&s, scope, "ttfb", q), service[q].as_f64().unwrap());
            assert!(ttfb <= svc, "{scope}: ttfb {q} {ttfb} ms > service {q} {svc} ms");
        }
        // A loopback connect takes well under the 2 s connect timeout.
        assert!(phase(&s, scope, "connect", "max") < 1000.0, "{s}");
    }
    // The interval log holds the same phases, per op, read back by HdrHistogram's reader.
    let logged = hlog_count(&out, "issue:connect") + hlog_count(&out, "health:connect");
    assert_eq!(logged as f64, sent);
    assert_eq!(hlog_count(&out, "issue:ttfb") as f64, phase(&s, "issue", "ttfb", "count"));
    assert!(stdout(&o).contains("connect (400)"), "{}", stdout(&o));
}

/// With keep-alive a connection serves many requests: connects = connections opened.
#[test]
fn with_keep_alive_only_requests_that_opened_a_connection_have_a_connect_phase() {
    let (_tmp, out, o) = run(&profile("connections = 8", "", RATE_200_FOR_2S, ""), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let opened = s["connections"]["opened"].as_f64().unwrap();
    assert!((1.0..=8.0).contains(&opened), "{opened} connections for 8 allowed");
    assert_eq!(phase(&s, "overall", "connect", "count"), opened);
    assert_eq!(phase(&s, "overall", "ttfb", "count"), 400.0);
}

/// A per-op limit fails on its own op even when the overall limit passes, and the check
/// in summary.json names the op.
#[test]
fn a_failing_per_op_slo_exits_1_naming_the_op() {
    let slo = "[slo]\np99 = \"5s\"\n[slo.ops.issue]\np99 = \"1us\"\n[slo.ops.health]\nerror-rate = 0.5";
    let (_tmp, out, o) = run(&profile("connections = 8", "issue-hold = \"2ms\"", RATE_200_FOR_2S, slo), &[]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    assert_eq!(s["slo"]["passed"], false);
    let checks = s["slo"]["checks"].as_array().unwrap();
    let verdicts: Vec<(&str, &str, bool)> = checks
        .iter()
        .map(|c| (c["scope"].as_str().unwrap(), c["name"].as_str().unwrap(), c["passed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        vec![("overall", "latency p99", true), ("health", "error rate", true), ("issue", "latency p99", false)]
    );
    assert!(stdout(&o).contains("FAIL latency p99 (issue)"), "{}", stdout(&o));
}

/// Two closed-loop users against 20 ms requests cannot reach 500 requests/s.
#[test]
fn min_rate_fails_when_the_target_cannot_keep_up() {
    let load = "mode = \"closed\"\nduration = \"2s\"";
    let builtin = "issue-hold = \"20ms\"\nquery-hold = \"20ms\"";
    let slo = "[slo]\nmin-rate = 500\n[slo.ops.issue]\nmin-rate = 1";
    let (_tmp, out, o) = run(&profile("connections = 2", builtin, load, slo), &[]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let check = &s["slo"]["checks"][0];
    assert_eq!((check["name"].as_str(), check["scope"].as_str()), (Some("min rate"), Some("overall")));
    assert_eq!(check["unit"], "req/s");
    assert_eq!(check["passed"], false);
    let actual = check["actual"].as_f64().unwrap();
    assert_eq!(actual, s["overall"]["rate"]["achieved_per_s"].as_f64().unwrap());
    assert!(actual < 500.0, "{actual}");
    assert_eq!(s["slo"]["checks"][1]["passed"], true, "issue ran at more than 1 request/s");
}

/// A 30 s run whose target stalls for 3 s in every 4: once the 2 s grace is over and the
/// first stalled requests are in, the p99 of the run so far fails and the run stops.
#[test]
fn abort_on_fail_stops_a_failing_run_after_its_grace() {
    let load = "[[load.stage]]\nkind = \"constant\"\nrate = 100\nduration = \"30s\"";
    let builtin = "issue-hold = \"1ms\"\nstall = { every = \"4s\", for = \"3s\" }";
    let slo = "[slo]\np99 = \"50ms\"\nabort-on-fail = true\ngrace = \"2s\"";
    let (_tmp, out, o) = run(&profile("connections = 8\nrequest-timeout = \"5s\"", builtin, load, slo), &[]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let aborted = &s["aborted"];
    let at = aborted["at_s"].as_f64().unwrap();
    assert!((2.0..8.0).contains(&at), "aborted at {at} s, after the 2 s grace");
    assert_eq!(aborted["grace_s"], 2.0);
    assert_eq!(aborted["failed"][0]["name"], "latency p99");
    assert_eq!(s["interrupted"], false, "an abort is an SLO failure, not an interruption");
    assert_eq!(s["slo"]["passed"], false);
    // Sending stopped at the abort; what was in flight then got the 2 s grace at most.
    let duration = s["run"]["duration_s"].as_f64().unwrap();
    assert!(duration >= at && duration < at + 1.0, "sending ran {duration} s, aborted at {at} s");
    crate::assert_ends_in_bound(&s, 2.0);
    let text = stdout(&o);
    assert!(text.contains("ABORTED   at") && text.contains("latency p99"), "{text}");
}

/// abort-on-fail leaves a passing run alone: it runs to the end and is not marked.
#[test]
fn abort_on_fail_lets_a_passing_run_finish() {
    let slo = "[slo]\np99 = \"2s\"\nabort-on-fail = true\ngrace = \"1s\"";
    let (_tmp, out, o) = run(&profile("connections = 8", "issue-hold = \"1ms\"", RATE_200_FOR_2S, slo), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    assert!(s.get("aborted").is_none(), "{s}");
    assert_eq!(s["overall"]["requests"]["sent"], 400);
}

/// A ramp from 50 to 350/s over 3 s means 200/s over the run but only 100/s in its first
/// second. Checked during the run, `min-rate = 120` is held to the pace the schedule meant
/// so far (60/s after 1 s, 90/s after 2 s), so a target that keeps up is not aborted on
/// the ramp; held to the whole run's 120/s it would be, after 1 s.
///
/// Robust on a busy machine: to fail a check, the requests finished by then must lag
/// what the schedule meant by 40 % (0.4 s of send lag plus latency after the first
/// second); and the final check is over the schedule's span, not the drain (600 requests
/// in 3 s), so a slow tail cannot pull the achieved rate under the limit.
#[test]
fn abort_on_fail_holds_min_rate_to_the_schedule_so_far() {
    let ramp = "[[load.stage]]\nkind = \"ramp\"\nfrom = 50\nto = 350\nduration = \"3s\"";
    let slo = "[slo]\nmin-rate = 120\nabort-on-fail = true\ngrace = \"1s\"";
    let (_tmp, out, o) = run(&profile("connections = 8", "issue-hold = \"1ms\"", ramp, slo), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    assert!(s.get("aborted").is_none(), "{s}");
    assert_eq!(s["overall"]["requests"]["sent"], 600);
    let achieved = s["slo"]["checks"][0]["actual"].as_f64().unwrap();
    let over_schedule = 600.0 / s["run"]["duration_s"].as_f64().unwrap();
    assert!((achieved - over_schedule).abs() < 0.01, "the final min rate is over the schedule: {s}");
}

/// `validate` spells out every limit, per scope, and the abort rule.
#[test]
fn validate_prints_the_slo() {
    let slo = "[slo]\np99 = \"200ms\"\nmin-rate = 150\nabort-on-fail = true\ngrace = \"1s\"\n[slo.ops.issue]\np99 = \"150ms\"";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, profile("", "", RATE_200_FOR_2S, slo)).unwrap();
    let o = run_in_root(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for line in [
        "slo         overall: latency p99 <= 200ms, achieved rate >= 150/s",
        "slo         issue: latency p99 <= 150ms",
        "slo         abort-on-fail: after 1s",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

/// A ramp from 0 to 200/s over 4 s plans 100/s on average; `min-rate = 90` asks for 90 %
/// of it. `--duration` and `--rate` change the schedule, and the limit keeps its share of
/// the new mean planned rate (it used to stay at 90/s, and a run cut to 2 s, planning
/// 50/s, failed however well the target kept up).
const RAMP_0_200_4S: &str = "[[load.stage]]\nkind = \"ramp\"\nfrom = 0\nto = 200\nduration = \"4s\"";

fn min_rate_check(s: &serde_json::Value) -> (f64, f64, bool) {
    let c = &s["slo"]["checks"][0];
    assert_eq!(c["name"], "min rate", "{s}");
    (c["threshold"].as_f64().unwrap(), c["actual"].as_f64().unwrap(), c["passed"].as_bool().unwrap())
}

/// `simulate` is deterministic: the scaled limits are exact, and the achieved rate is
/// over the schedule's span (the drain's time is not counted).
#[test]
fn min_rate_scales_with_the_schedule_duration_and_rate_make() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, profile("", "issue-hold = \"1ms\"", RAMP_0_200_4S, "[slo]\nmin-rate = 90")).unwrap();
    for (i, (flags, limit)) in
        [(&["--duration", "2s"][..], 45.0), (&["--duration", "8s"], 135.0), (&["--rate", "20"], 18.0), (&[], 90.0)]
            .into_iter()
            .enumerate()
    {
        let out = dir.path().join(format!("r{i}"));
        let mut args = vec!["simulate", file.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(flags);
        let o = run_in_root(&args);
        assert_eq!(o.status.code(), Some(0), "{flags:?}: {}{}", stdout(&o), stderr(&o));
        let s = summary(&out);
        let (threshold, achieved, passed) = min_rate_check(&s);
        assert!((threshold - limit).abs() < 1e-6, "{flags:?}: limit {threshold}, expected {limit}");
        let over_schedule =
            s["overall"]["requests"]["sent"].as_f64().unwrap() / s["run"]["planned_duration_s"].as_f64().unwrap();
        assert!(
            (achieved - over_schedule).abs() < 0.01,
            "{flags:?}: achieved {achieved}, over the schedule {over_schedule}"
        );
        assert!(passed && achieved >= threshold, "{flags:?}: {s}");
    }
}

/// Live, the same rule, judged on the run's own figures: the limit is 90 % of the rate the
/// shortened schedule planned, the achieved rate is what was sent over the span that ran,
/// and the verdict follows the two.
#[test]
fn a_live_run_cut_short_holds_min_rate_to_its_own_schedule() {
    let slo = "[slo]\nmin-rate = 90";
    let (_tmp, out, o) =
        run(&profile("connections = 8", "issue-hold = \"1ms\"", RAMP_0_200_4S, slo), &["--duration", "2s"]);
    let s = summary(&out);
    let (threshold, achieved, passed) = min_rate_check(&s);
    let planned = s["overall"]["rate"]["target_per_s"].as_f64().unwrap();
    assert!((threshold - 0.9 * planned).abs() < 0.01, "limit {threshold} for a schedule planning {planned}/s");
    assert!(threshold < 60.0, "the limit follows the cut schedule (about 45/s), not the profile's 90/s: {threshold}");
    let over_span = s["overall"]["requests"]["sent"].as_f64().unwrap() / s["run"]["duration_s"].as_f64().unwrap();
    assert!((achieved - over_span).abs() < 0.01, "achieved {achieved}, sent over the span {over_span}");
    assert_eq!(passed, achieved >= threshold, "{s}");
    assert_eq!(o.status.code(), Some(if passed { 0 } else { 1 }), "{}{}", stdout(&o), stderr(&o));
}
