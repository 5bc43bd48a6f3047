//! `[model]`: the service's model belongs to the profile. `simulate` and `capacity
//! --simulate` model any profile, whatever its URL; ops are modelled by the profile's own
//! names; the built-in target routes by the profile's ops and answers them.

use std::path::Path;

mod engines;

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

/// Steps over the one-pool model's own resources: a request that takes the pool twice
/// holds it for both, and its worker for the whole request.
#[test]
fn steps_can_name_the_one_pool_models_resources() {
    let profile = OWN_URL.replace(
        "[model.ops.list]\nhold = \"10ms\"\n",
        "workers = 4\n[model.ops.list]\nsteps = [{ use = \"workers\" }, { use = \"pool\", hold = \"5ms\" }, \
         { hold = \"1ms\" }, { use = \"pool\", hold = \"3ms\" }]\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), &profile);
    let o = run_in_root(&["validate", &file]);
    assert!(stdout(&o).contains("list: workers → pool 5ms → wait 1ms → pool 3ms"), "{}{}", stdout(&o), stderr(&o));
    let out = dir.path().join("sim").display().to_string();
    let o = run_in_root(&["simulate", &file, "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = summary(Path::new(&out));
    assert!((8.99..9.1).contains(&p50(&s, "list")), "5 + 1 + 3 ms: {}", p50(&s, "list"));
    let names: Vec<&str> =
        s["pool"]["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["pool", "workers"]);
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

/// Per op of one step of a steps schedule: (latency p50, service p50, errors).
fn step_ops(s: &serde_json::Value, step: usize) -> std::collections::BTreeMap<String, (f64, f64, u64)> {
    let ops = s["stages"][0]["steps"][step]["ops"].as_object().unwrap_or_else(|| panic!("no step {step}: {s}"));
    let figure = |o: &serde_json::Value, k: &str| o[k]["p50"].as_f64().unwrap();
    ops.iter()
        .map(|(name, o)| {
            let errors = o["requests"]["errors"].as_u64().unwrap();
            (name.clone(), (figure(o, "latency_ms"), figure(o, "service_ms"), errors))
        })
        .collect()
}

/// profiles/own-service.toml through both engines: 70 % of the tax gateway's capacity,
/// then 130 %. Both say the gateway runs dry first (the model's resource table, the live
/// target's 503 answers), and live each op takes at least its holds' sum, as simulated.
#[test]
fn own_service_runs_dry_at_the_same_resource_in_both_engines() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    let o = run_in_root(&["simulate", "profiles/own-service.toml", "--out", sim.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "the SLO fails past the knee: {}", stderr(&o));
    let s = summary(&sim);
    let resources = s["pool"]["resources"].as_array().unwrap();
    let dry: Vec<&str> =
        resources.iter().filter(|r| !r["first_dry_s"].is_null()).map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(dry, ["tax-gateway"], "{resources:?}");
    let simulated = step_ops(&s, 0);
    // Below the knee nobody waits for the database or the workers, and each op's p50 is
    // its holds' sum: place-order 4 + 40 + 2, get-order 3, list-orders 6, pay 30 + 2 ms.
    for (op, hold) in [("place-order", 46.0), ("get-order", 3.0), ("list-orders", 6.0), ("pay", 32.0)] {
        let (p50, _, errors) = simulated[op];
        assert!(p50 >= hold && p50 < hold * 1.01, "{op}: simulated p50 {p50} ms, holds {hold} ms");
        assert_eq!(errors, 0, "{op} below the knee");
    }

    let live = dir.path().join("live");
    let o = run_in_root(&["run", "profiles/own-service.toml", "--out", live.to_str().unwrap(), "--no-progress"]);
    assert_eq!(o.status.code(), Some(1), "the SLO fails past the knee: {}{}", stdout(&o), stderr(&o));
    let l = summary(&live);
    for (op, (sim_p50, _, _)) in &simulated {
        let (_, service_p50, errors) = step_ops(&l, 0)[op];
        // HDR buckets round to 0.1 %; a live sleep never ends early.
        assert!(service_p50 >= sim_p50 * 0.999, "{op}: live p50 {service_p50} ms under the model's {sim_p50} ms");
        assert_eq!(errors, 0, "{op}: 70 % of the gateway is no overload, live either");
    }
    // Past the knee only the ops that use the gateway fail, in both engines.
    for s in [&s, &l] {
        let past = step_ops(s, 1);
        assert!(past["place-order"].2 > 0 && past["pay"].2 > 0, "{past:?}");
        assert_eq!((past["get-order"].2, past["list-orders"].2), (0, 0), "{past:?}");
    }
    let errors = std::fs::read_to_string(live.join("errors.jsonl")).unwrap();
    let answered: Vec<serde_json::Value> = errors
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["status"].as_u64().is_some_and(|s| s >= 500))
        .collect();
    assert!(!answered.is_empty(), "{errors}");
    for e in &answered {
        assert_eq!(e["status"], 503, "the gateway's when-dry: {e}");
        assert!(e["body"].as_str().unwrap().contains("tax-gateway exhausted"), "the live target names it: {e}");
    }
}

#[test]
fn the_capacity_search_names_the_resource_that_runs_dry_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cap");
    let args = ["capacity", "profiles/own-service.toml", "--simulate", "--step-time", "4s", "--out"];
    let o = run_in_root(&[&args[..], &[out.to_str().unwrap()]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("capacity.json")).unwrap()).unwrap();
    assert_eq!(c["breaks_first"]["resource"], "tax-gateway", "{}", c["breaks_first"]);
    let answer = c["answer"]["rate_per_s"].as_f64().unwrap();
    assert!(answer > 500.0 && answer < 1091.0, "under the gateway's 1,091/s: {answer}");
    assert!(c["answer"]["sentence"].as_str().unwrap().contains("resource tax-gateway"), "{}", c["answer"]);
}

/// A rate limit's burst beyond what the model holds is refused with the value written
/// (it was once cut to 32 bits first, and the message named 4294967295).
#[test]
fn a_huge_burst_is_refused_with_the_value_written() {
    let dir = tempfile::tempdir().unwrap();
    let profile = "schema = 1\nname = \"b\"\n[target]\nurl = \"builtin\"\n\
        [model.resources.limiter]\nkind = \"rate-limit\"\nrate = 100\nburst = 9223372036854775807\n\
        [model.resources.db]\nkind = \"pool\"\nsize = 4\n\
        [[load.stage]]\nkind = \"constant\"\nrate = 10\nduration = \"1s\"\n\
        [[op]]\nname = \"get\"\npath = \"/items/1\"\n";
    let file = write(dir.path(), profile);
    let o = run_in_root(&["validate", &file]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let want = format!("{file}:8: model.resources.limiter.burst: must be at most 100000000, got 9223372036854775807");
    assert!(err.contains(&want), "{err}");
    assert_eq!(err.lines().count(), 1, "one problem: {err}");
}

/// A rate limit that only half the mix passes lets the mix run at twice its rate: the
/// capacity `validate` shows (and the capacity search starts from) is 200/s, not 100/s.
#[test]
fn a_rate_limit_only_some_ops_take_caps_the_mix_by_their_share() {
    let dir = tempfile::tempdir().unwrap();
    let profile = "schema = 1\nname = \"rl\"\n[target]\nurl = \"builtin\"\n\
        [model.resources.workers]\nkind = \"workers\"\nsize = 100\n\
        [model.resources.limiter]\nkind = \"rate-limit\"\nrate = 100\nburst = 10\n\
        [model.ops.pay]\nsteps = [{ use = \"workers\" }, { use = \"limiter\" }, { hold = \"1ms\" }]\n\
        [model.ops.look]\nsteps = [{ use = \"workers\" }, { hold = \"1ms\" }]\n\
        [[load.stage]]\nkind = \"constant\"\nrate = 100\nduration = \"5s\"\n\
        [[op]]\nname = \"pay\"\nmethod = \"POST\"\npath = \"/pay\"\n[[op]]\nname = \"look\"\npath = \"/look\"\n";
    let o = run_in_root(&["validate", &write(dir.path(), profile)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out.lines().find(|l| l.trim_start().starts_with("capacity")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("limiter 200/s (runs dry first)") && line.contains("workers 100000/s"), "{line}");
}
