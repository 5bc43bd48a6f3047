//! `[model]`: the service's model belongs to the profile. `simulate` and `capacity
//! --simulate` model any profile, whatever its URL; ops are modelled by the profile's own
//! names; the built-in target routes by the profile's ops and answers them.

use std::path::Path;

use crate::{run_in_root, stderr, stdout, summary};

/// A service at its own URL (never contacted here): two ops of its own, one modelled
/// (`list`, 10 ms), one on the default (`root`: a read, query-hold's 5 ms).
const OWN_URL: &str = "schema = 1\nname = \"own\"\n[target]\nurl = \"http://127.0.0.1:9\"\n\
    [model]\npool-size = 10\nacquire-timeout = \"1s\"\n[model.ops.list]\nhold = \"10ms\"\n\
    [[load.stage]]\nkind = \"constant\"\nrate = 100\nduration = \"5s\"\n\
    [[op]]\nname = \"list\"\npath = \"/items\"\n[[op]]\nname = \"root\"\npath = \"\"\n\
    [slo]\np99 = \"50ms\"\n";

fn write(dir: &Path, profile: &str) -> String {
    let file = dir.join("p.toml");
    std::fs::write(&file, profile).unwrap();
    file.display().to_string()
}

fn p50(s: &serde_json::Value, op: &str) -> f64 {
    s["ops"][op]["latency_ms"]["p50"].as_f64().unwrap_or_else(|| panic!("no p50 for {op}: {}", s["ops"]))
}

#[test]
fn a_service_at_its_own_url_is_simulated_and_searched_from_its_model() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), OWN_URL);
    let out = dir.path().join("sim").display().to_string();
    let o = run_in_root(&["simulate", &file, "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(Path::new(&out));
    // 100/s through 10 connections: nobody waits, so each op takes its hold (the
    // histograms' precision aside).
    assert!((9.9..10.1).contains(&p50(&s, "list")), "list holds its own 10 ms: {}", p50(&s, "list"));
    assert!((4.9..5.1).contains(&p50(&s, "root")), "root holds the default 5 ms: {}", p50(&s, "root"));
    assert_eq!(s["pool"]["size"], 10);

    // 10 connections at a mean hold of 7.5 ms serve 1,333/s.
    let cap = dir.path().join("cap").display().to_string();
    let o = run_in_root(&["capacity", &file, "--simulate", "--step-time", "4s", "--out", &cap]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&cap).join("capacity.json")).unwrap()).unwrap();
    let answer = c["answer"]["rate_per_s"].as_f64().unwrap();
    assert!(answer > 100.0 && answer <= 1334.0, "answer {answer}/s of a 1,333/s model: {c}");
}

#[test]
fn validate_says_which_ops_hold_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in_root(&["validate", &write(dir.path(), OWN_URL)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let line = text.lines().find(|l| l.contains("no [model.ops] entry")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("root (as query-hold)") && !line.contains("list"), "{line}");
    assert!(text.contains("list 10ms"), "{text}");
}

/// A profile of the service's own ops against the built-in target: `place` answers with
/// its template (an order id, extracted), `show` queries that id by its path template
/// and holds 20 ms; `root` at "" is the profile's, not the target's health route.
const OWN_OPS: &str = "schema = 1\nname = \"own-ops\"\nseed = 5\n[target]\nurl = \"builtin\"\n\
    [model]\npool-size = 50\n\
    [model.ops.place]\nhold = \"2ms\"\nresponse = '{\"order_id\":\"A-${id}\"}'\nstatus = 201\n\
    [model.ops.show]\nhold = \"20ms\"\n\
    [[load.stage]]\nkind = \"constant\"\nrate = 60\nduration = \"3s\"\n\
    [[op]]\nname = \"place\"\nmethod = \"POST\"\npath = \"/shop/orders\"\nbody = '{\"sku\":1}'\n\
    extract = { order_id = \"/order_id\" }\ncheck = { status = [201], exists = [\"/order_id\"] }\n\
    [[op]]\nname = \"show\"\npath = \"/shop/orders/${capture.order_id}?full=1\"\ncheck = { status = [200], exists = [\"/id\"] }\n\
    [[op]]\nname = \"root\"\npath = \"\"\ncheck = { status = [200], equals = { \"/op\" = \"root\" } }\n";

#[test]
fn the_builtin_target_serves_the_profiles_own_ops_as_the_model_says() {
    let (_dir, out, o) = crate::run_profile(OWN_OPS, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let s = summary(&out);
    for op in ["place", "show", "root"] {
        let r = &s["ops"][op]["requests"];
        assert!(r["sent"].as_u64().unwrap() > 0, "{op}: {r}");
        assert_eq!(r["check_failed"], 0, "{op} got its own answer: {}", s["ops"][op]);
        assert_eq!(r["errors"], 0, "{op}: {}", s["ops"][op]);
    }
    // The live target holds what the model says: never less than the hold.
    let service_p50 = |op: &str| s["ops"][op]["service_ms"]["p50"].as_f64().unwrap();
    assert!(service_p50("show") >= 19.9, "show holds 20 ms: {}", service_p50("show"));
    assert!(service_p50("show") > service_p50("place"), "{}", s["ops"]);
}
