//! What the simulator's report says of a model's resources: each failure in its own
//! class, pool.csv's own columns the first pool's, each second's mean use its own; and
//! the model options that make it more like a real service (barging, cores, pauses).

use crate::{run_in_root, stderr, stdout, summary};

/// A profile at a URL never contacted, with `model` as its `[model]` tables and one op
/// `get` at `rate` a second for `secs` seconds.
fn profile(model: &str, rate: u32, secs: u32) -> String {
    format!(
        "schema = 1\nname = \"engines\"\n[target]\nurl = \"http://127.0.0.1:9\"\nrequest-timeout = \"1s\"\n\
         {model}\n[[load.stage]]\nkind = \"constant\"\nrate = {rate}\nduration = \"{secs}s\"\n\
         [[op]]\nname = \"get\"\npath = \"/items\"\n"
    )
}

/// Simulate `text`: its summary and pool.csv's rows as (header, rows).
fn simulate(text: &str) -> (serde_json::Value, Vec<std::collections::BTreeMap<String, String>>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("sim");
    let o = run_in_root(&["simulate", &file.display().to_string(), "--out", &out.display().to_string()]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}{}", stdout(&o), stderr(&o));
    let csv = std::fs::read_to_string(out.join("pool.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows = lines.map(|l| header.iter().map(|h| h.to_string()).zip(l.split(',').map(String::from)).collect());
    (summary(&out), rows.collect())
}

fn resource<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let all = s["pool"]["resources"].as_array().unwrap();
    all.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no resource {name}: {all:?}"))
}

fn column(rows: &[std::collections::BTreeMap<String, String>], name: &str) -> Vec<f64> {
    rows.iter().map(|r| r[name].parse().unwrap_or_else(|_| panic!("{name} in {r:?}"))).collect()
}

#[test]
fn a_refusal_answered_with_no_answer_is_counted_as_a_refusal() {
    // One worker, no queue: a second request in flight is refused, and the refusal gives
    // no answer (the client's 1 s timeout ends it).
    let model = "[model.resources.workers]\nkind = \"workers\"\nsize = 1\nqueue-limit = 0\nwhen-dry = \"timeout\"\n\
                 [model.resources.db]\nkind = \"pool\"\nsize = 4\n\
                 [model.ops.get]\nsteps = [{ use = \"workers\" }, { use = \"db\", hold = \"50ms\" }]\n";
    let (s, rows) = simulate(&profile(model, 100, 2));
    let workers = resource(&s, "workers");
    assert!(workers["refused"].as_u64().unwrap() > 100, "{workers}");
    assert_eq!(workers["timeouts"], 0, "none of them waited: {workers}");
    assert_eq!(column(&rows, "queue_full").iter().sum::<f64>(), workers["refused"].as_f64().unwrap());
    assert_eq!(column(&rows, "timeouts").iter().sum::<f64>(), 0.0);
}

#[test]
fn pool_csv_columns_are_the_first_pools_alone() {
    // db (the first pool) never runs dry; the gateway (2 x 100 ms = 20/s) does at 50/s.
    let model = "[model.resources.db]\nkind = \"pool\"\nsize = 50\n\
                 [model.resources.gateway]\nkind = \"pool\"\nsize = 2\nacquire-timeout = \"100ms\"\n\
                 [model.ops.get]\nsteps = [{ use = \"db\", hold = \"2ms\" }, { use = \"gateway\", hold = \"100ms\" }]\n";
    let (s, rows) = simulate(&profile(model, 50, 3));
    assert!(resource(&s, "gateway")["timeouts"].as_u64().unwrap() > 10, "{}", s["pool"]);
    assert_eq!(resource(&s, "db")["timeouts"], 0);
    assert_eq!(column(&rows, "timeouts").iter().sum::<f64>(), 0.0, "db's column: {rows:?}");
    assert!(column(&rows, "acquire_p99_ms").iter().all(|&w| w < 1.0), "nobody waits for db: {rows:?}");
    assert!(column(&rows, "usage_p50_ms").iter().all(|&u| (1.9..2.1).contains(&u)), "db is held 2 ms: {rows:?}");
}

#[test]
fn each_second_of_the_drain_has_its_own_mean_use() {
    // Arrivals at 0, 1, 2, 3 s, each holding a connection 2.5 s: in [4, 5) two are in
    // use for half and all of it (1.5 on average), in [5, 6) one for half (0.5).
    let model = "[model]\npool-size = 10\n[model.ops.get]\nhold = \"2500ms\"\n";
    let (_, rows) = simulate(&profile(model, 1, 4).replace("request-timeout = \"1s\"", "request-timeout = \"10s\""));
    let mean: Vec<(f64, f64)> =
        rows.iter().map(|r| (r["start_s"].parse().unwrap(), r["mean_active"].parse().unwrap())).collect();
    let at = |s: f64| mean.iter().find(|(start, _)| *start == s).map(|m| m.1).unwrap_or_else(|| panic!("{mean:?}"));
    assert!((at(4.0) - 1.5).abs() < 1e-6 && (at(5.0) - 0.5).abs() < 1e-6, "{mean:?}");
}

/// The barging profile the README documents, at twice the pool's capacity: 4 workers,
/// 2 connections held 5 ms (400/s), 50 ms to get one. FIFO proves no timeout (at most 2
/// wait, each at most 5 ms); barging starves waiters into 500s, simulated and live.
const BARGING: &str = "[model.resources.workers]\nkind = \"workers\"\nsize = 4\n\
    [model.resources.db]\nkind = \"pool\"\nsize = 2\nacquire-timeout = \"50ms\"\n\
    discipline = \"barging\"\nhandoff-delay = \"1ms\"\n\
    [model.ops.get]\nsteps = [{ use = \"workers\" }, { use = \"db\", hold = \"5ms\" }]\n";

fn status(s: &serde_json::Value, code: &str) -> u64 {
    s["ops"]["get"]["status"][code].as_u64().unwrap_or(0)
}

#[test]
fn a_barging_pool_returns_500s_past_the_knee_in_both_engines_where_fifo_returns_none() {
    let (barging, _) = simulate(&profile(BARGING, 800, 2));
    let (fifo, _) =
        simulate(&profile(&BARGING.replace("discipline = \"barging\"\nhandoff-delay = \"1ms\"\n", ""), 800, 2));
    assert!(status(&barging, "500") > 50, "{}", barging["ops"]["get"]["status"]);
    assert_eq!(status(&fifo, "500"), 0, "{}", fifo["ops"]["get"]["status"]);
    assert!(status(&fifo, "200") > 0);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, profile(BARGING, 800, 1).replace("http://127.0.0.1:9", "builtin")).unwrap();
    let o = run_in_root(&["validate", &file.display().to_string()]);
    assert!(
        stdout(&o).contains("db: pool 2, acquire timeout 50ms, 500 when dry, barging hand-off (waiters wake in 1ms)"),
        "{}",
        stdout(&o)
    );
    let out = dir.path().join("live");
    let o = run_in_root(&["run", &file.display().to_string(), "--out", &out.display().to_string(), "--no-progress"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}{}", stdout(&o), stderr(&o));
    let live = summary(&out);
    assert!(status(&live, "500") > 0, "the live target's barging pool: {}", live["ops"]["get"]["status"]);
}

#[test]
fn validate_describes_cores_pauses_and_the_warm_up() {
    let model = "[model]\npause-every = \"13s\"\npause = \"12ms\"\nwarm-up = \"10s\"\n\
                 [model.resources.cpu]\nkind = \"cpu\"\ncores = 4\n[model.resources.db]\nkind = \"pool\"\nsize = 4\n\
                 [model.ops.get]\nsteps = [{ use = \"cpu\", hold = \"2ms\" }, { use = \"db\", hold = \"5ms\" }]\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, profile(model, 100, 2)).unwrap();
    let o = run_in_root(&["validate", &file.display().to_string()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(text.contains("cpu: cpu 4 cores, first come first served"), "{text}");
    assert!(text.contains("pause 12ms every 13s") && text.contains("warm-up 10s: holds 3x"), "{text}");
    assert!(text.contains("cpu 2000/s"), "4 cores of 2 ms: {text}");
    // Simulated: 7 ms a request once warm, about 3x in the first second.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(&file, profile(model, 100, 12)).unwrap();
    let out = dir.path().join("sim");
    let o = run_in_root(&["simulate", &file.display().to_string(), "--out", &out.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let p50: Vec<f64> = csv.lines().skip(1).map(|l| l.split(',').nth(7).unwrap().parse().unwrap()).collect();
    assert!(p50[0] > 18.0 && (6.9..7.1).contains(&p50[11]), "p50 per second: {p50:?}");
}
