//! HTTP/2 targets: the built-in target serving HTTP/2 (`[target] protocol`), in the clear
//! as prior-knowledge h2c and over TLS by ALPN. Every run is bounded in time and count.

use crate::{run_profile, stderr, stdout, summary};

/// A profile for `url` speaking `protocol`, 200 requests/s for 1 s over 4 connections.
fn profile(url: &str, protocol: &str) -> String {
    format!(
        r#"schema = 1
name = "h2-e2e"
[target]
url = "{url}"
connections = 4
protocol = "{protocol}"
[load]
[[load.stage]]
kind = "constant"
rate = 200
duration = "1s"
[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
body = {{ generator = "invoice" }}
"#
    )
}

/// `protocol = "http2"` in the clear (h2c) and `"auto"` over TLS (ALPN picks h2 from the
/// built-in target): every request is answered, every connection spoke HTTP/2, and the
/// text summary says so.
#[test]
fn the_builtin_target_is_driven_over_http2_in_the_clear_and_over_tls() {
    for (url, protocol) in [("builtin", "http2"), ("builtin+tls", "auto")] {
        let (_tmp, out, o) = run_profile(&profile(url, protocol), &[]);
        assert_eq!(o.status.code(), Some(0), "{url} {protocol}: {}{}", stdout(&o), stderr(&o));
        let s = summary(&out);
        let (sent, ok) = (&s["overall"]["requests"]["sent"], &s["overall"]["requests"]["ok"]);
        assert_eq!((sent.as_u64(), ok.as_u64()), (Some(200), Some(200)), "{url} {protocol}");
        let c = &s["connections"];
        assert!(c["opened"].as_u64().is_some_and(|n| (1..=4).contains(&n)), "{c}");
        assert_eq!(c["http2"], c["opened"], "{url} {protocol}: every connection spoke HTTP/2");
        assert!(stdout(&o).contains("HTTP/2"), "{}", stdout(&o));
    }
}

/// `protocol = "http1"` (the default) never speaks HTTP/2, and the summary says nothing of it.
#[test]
fn http1_stays_http1() {
    let (_tmp, out, o) = run_profile(&profile("builtin+tls", "http1"), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    assert!(s["connections"].get("http2").is_none(), "{}", s["connections"]);
    assert!(!stdout(&o).contains("HTTP/2"));
}

/// A protocol the engine does not speak is refused with the key and line, exit 2.
#[test]
fn an_unknown_protocol_is_refused_with_its_key() {
    let (_tmp, _out, o) = run_profile(&profile("builtin", "spdy"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(":6: target.protocol"), "{}", stderr(&o));
}

/// `max-streams = 8` on 2 connections: the pool holds 16 requests on the wire at once
/// (the built-in target holds each 100 ms, so 400/s offers ~40) over exactly 2 HTTP/2
/// connections, and the rest wait for a stream, marked queued.
#[test]
fn two_connections_of_eight_streams_carry_sixteen_requests_at_once() {
    let src = profile("builtin", "http2")
        .replace("connections = 4", "connections = 2\nmax-streams = 8")
        .replace("[load]", "[target.builtin]\npool-size = 64\nissue-hold = \"100ms\"\n[load]")
        .replace("rate = 200", "rate = 400");
    let (_tmp, out, o) = run_profile(&src, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    let c = &s["connections"];
    assert_eq!((c["opened"].as_u64(), c["http2"].as_u64(), c["max_open"].as_u64()), (Some(2), Some(2), Some(2)), "{c}");
    assert_eq!(c["max_in_flight"].as_u64(), Some(16), "{c}");
    // Over time too: timeseries.csv's in_flight_max peaks at the 16 streams, and the
    // report charts the streams beside the 2 connections.
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let column = csv.lines().next().unwrap().split(',').position(|h| h == "in_flight_max").expect("the column");
    let peaks: Vec<u64> = csv.lines().skip(1).map(|l| l.split(',').nth(column).unwrap().parse().unwrap()).collect();
    assert_eq!(peaks.iter().max(), Some(&16), "{csv}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Client connections and HTTP/2 streams over time"), "the chart's heading");
    let r = &s["overall"]["requests"];
    assert_eq!(r["sent"].as_u64(), Some(400), "{r}");
    assert!(r["queued"].as_u64().is_some_and(|q| q > 0), "more than 16 were due at once: {r}");
}

/// `max-streams` with HTTP/1.1 is ignored, and `validate` says so; `auto` over TLS uses it.
#[test]
fn max_streams_without_http2_is_noted_by_validate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(&path, profile("builtin", "http1").replace("connections = 4", "max-streams = 8")).unwrap();
    let o = crate::einv().arg("validate").arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("max-streams is ignored"), "{}", stdout(&o));
    // `auto` over TLS takes max-streams once ALPN picks h2: not ignored.
    let auto = profile("builtin+tls", "auto").replace("connections = 4", "max-streams = 8");
    std::fs::write(&path, auto).unwrap();
    let o = crate::einv().arg("validate").arg(&path).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains("max-streams is ignored"), "{}", stdout(&o));
    assert!(stdout(&o).contains("up to 8 streams each if ALPN agrees"), "{}", stdout(&o));
}
