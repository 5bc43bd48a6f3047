//! TLS targets: the built-in target over TLS (`"builtin+tls"`) and `einv-load serve
//! --tls` as an https:// target, trusted through tls-ca or not at all. Every server is on
//! 127.0.0.1, started by the test; every run is bounded in time and count.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

use crate::{einv, hlog_count, run_profile, stderr, stdout, summary};

/// A profile for `url` with `[target]` extras, 200 requests/s for 2 s.
fn profile(url: &str, target: &str) -> String {
    format!(
        r#"schema = 1
name = "tls-e2e"
[target]
url = "{url}"
connections = 8
{target}
[load]
[[load.stage]]
kind = "constant"
rate = 200
duration = "2s"
[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
body = {{ generator = "invoice" }}
[[op]]
name = "health"
path = "/healthz"
"#
    )
}

fn run(profile: &str) -> (tempfile::TempDir, PathBuf, Output) {
    run_profile(profile, &[])
}

fn tls(s: &serde_json::Value, field: &str) -> f64 {
    s["overall"]["phases"]["tls"][field].as_f64().unwrap_or_else(|| panic!("overall.phases.tls.{field} in {s}"))
}

/// `TLS handshakes: N, of which M resumed a session` from the run's log.
fn handshakes(o: &Output) -> (u64, u64) {
    let err = stderr(o);
    let line = err.lines().find(|l| l.contains("TLS handshakes: ")).unwrap_or_else(|| panic!("{err}"));
    let numbers: Vec<u64> =
        line.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).map(|w| w.parse().unwrap()).collect();
    (numbers[numbers.len() - 2], numbers[numbers.len() - 1])
}

/// Without keep-alive every request opens a TLS connection: one handshake each, timed,
/// logged per op, and shown in the text summary and index.html.
#[test]
fn builtin_tls_without_keep_alive_every_request_has_a_tls_phase() {
    let (_tmp, out, o) = run(&profile("builtin+tls", "keep-alive = false"));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let sent = s["overall"]["requests"]["sent"].as_f64().unwrap();
    assert_eq!(sent, 400.0);
    assert_eq!(s["overall"]["requests"]["ok"].as_f64().unwrap(), sent, "{s}");
    assert_eq!(tls(&s, "count"), sent, "one TLS handshake per request");
    assert!(tls(&s, "p50") > 0.0, "{s}");
    let logged = hlog_count(&out, "issue:tls") + hlog_count(&out, "health:tls");
    assert_eq!(logged as f64, sent);
    assert!(stdout(&o).contains("TLS handshake (400)"), "{}", stdout(&o));
    assert!(s["run"]["target"].as_str().unwrap().contains("https://127.0.0.1:"), "{s}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<td>tls</td>"), "the TLS phase is tabled");
    assert_eq!(handshakes(&o).0, 400);
}

/// With keep-alive a connection's one handshake serves many requests.
#[test]
fn builtin_tls_with_keep_alive_handshakes_once_per_connection() {
    let (_tmp, out, o) = run(&profile("builtin+tls", ""));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let opened = s["connections"]["opened"].as_f64().unwrap();
    assert!((1.0..=8.0).contains(&opened), "{opened} connections for 8 allowed");
    assert_eq!(tls(&s, "count"), opened);
    assert_eq!(s["overall"]["phases"]["ttfb"]["count"].as_f64().unwrap(), 400.0);
}

/// tls-resumption = false makes every connection a full handshake; by default every
/// handshake but the first resumes a session. The p50s are printed for the README's
/// figures, not asserted (no test asserts a wall-clock time).
///
/// What is asserted comes from the runs' own counts: a handshake that timed out on a busy
/// machine is a connect error, not a handshake, so the count to expect is the number of
/// requests that have a TLS phase. With resumption on, one connection at a time makes
/// the count exact: each connection reads its answer, and the session tickets sent
/// before it, before the next one starts, so only the first has no ticket to use. (With
/// several connections at once, how many find a ticket depends on how they overlap.)
#[test]
fn without_resumption_every_handshake_is_full() {
    let (_a, full_out, full) = run(&profile("builtin+tls", "keep-alive = false\ntls-resumption = false"));
    let one_at_a_time = profile("builtin+tls", "keep-alive = false").replace("connections = 8", "connections = 1");
    let (_b, resumed_out, resumed) = run(&one_at_a_time.replace("rate = 200", "rate = 25"));
    for o in [&full, &resumed] {
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
    }
    let s = summary(&full_out);
    let handshaken = tls(&s, "count") as u64;
    let connect_errors =
        ["connect_error", "connect_timeout"].iter().map(|c| s["overall"]["errors"][c].as_u64().unwrap_or(0));
    assert_eq!(handshaken + connect_errors.sum::<u64>(), 400, "every request opened a connection: {s}");
    assert_eq!(handshakes(&full), (handshaken, 0), "no session is resumed");
    let handshaken = tls(&summary(&resumed_out), "count") as u64;
    assert!(handshaken > 1, "{}", stderr(&resumed));
    assert_eq!(handshakes(&resumed), (handshaken, handshaken - 1), "all but the first resume");
    let p50 = |dir: &Path| tls(&summary(dir), "p50");
    eprintln!("TLS handshake p50: full {:.3} ms, resumed {:.3} ms", p50(&full_out), p50(&resumed_out));
}

/// `einv-load serve --tls` on a free port, and the PEM file it wrote.
struct Served {
    child: Child,
    url: String,
    cert: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_tls() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let mut child = einv()
        .args(["serve", "--tls", "--addr", "127.0.0.1:0", "--cert-out"])
        .arg(&cert)
        .stdout(Stdio::piped())
        .spawn()
        .expect("einv-load serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.split_whitespace().find(|w| w.starts_with("https://")).unwrap_or_else(|| panic!("{first}")).into();
    let second = lines.next().unwrap().unwrap();
    assert!(second.contains(&cert.display().to_string()), "serve names where the certificate went: {second}");
    Served { child, url, cert, _dir: dir }
}

/// A certificate the engine does not trust fails every connection as connect_error and
/// says it was TLS; the PEM serve --tls wrote, given as tls-ca, makes the same target work.
#[test]
fn an_untrusted_certificate_fails_and_tls_ca_fixes_it() {
    let served = serve_tls();
    let (_a, out, o) = run(&profile(&served.url, ""));
    assert_eq!(o.status.code(), Some(3), "no request succeeded: {}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let sent = s["overall"]["requests"]["sent"].as_f64().unwrap();
    assert!(sent > 0.0 && s["overall"]["errors"]["connect_error"].as_f64() == Some(sent), "{s}");
    let warning = s["warnings"].to_string();
    assert!(warning.contains("TLS handshakes failed") && warning.contains("UnknownIssuer"), "{warning}");
    assert!(stdout(&o).contains("TLS handshakes failed"), "the text summary says so: {}", stdout(&o));

    let ca = format!("tls-ca = {:?}", served.cert.display().to_string());
    let (_b, out, o) = run(&profile(&served.url, &ca));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    assert_eq!(s["overall"]["requests"]["ok"].as_f64().unwrap(), 400.0, "{s}");
    assert_eq!(tls(&s, "count"), s["connections"]["opened"].as_f64().unwrap());

    let (_c, out, o) = run(&profile(&served.url, "tls-insecure = true"));
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("NOT checked"), "a loud warning: {}", stderr(&o));
    assert!(summary(&out)["warnings"].to_string().contains("tls-insecure"));
}
