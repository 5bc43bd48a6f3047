//! `einv-load k8s`, `run --shard auto` and `--start-at` from the command line: what a user
//! sees when the flags are right, and when they are not (exit 2, naming what is wrong).

use crate::{einv, root, run_in_root, stderr, stdout};

#[test]
fn k8s_prints_the_manifests_or_writes_one_file_per_object() {
    let args = ["k8s", "profiles/double11-peak.toml", "--image", "einv-load:0.1", "--shards", "3"];
    let o = run_in_root(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.matches("\n---\n").count(), 4, "ConfigMap, claim, two Jobs: {text}");
    assert!(text.contains("completionMode: Indexed") && text.contains("completions: 3"), "{text}");
    assert!(stderr(&o).contains("start at") && stderr(&o).contains("-merge"), "{}", stderr(&o));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m").display().to_string();
    let mut with_ns = args.to_vec();
    with_ns.extend(["--namespace", "load-test", "--out", &out]);
    let o = run_in_root(&with_ns);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(
        files,
        ["00-namespace.yaml", "10-configmap.yaml", "20-volume.yaml", "30-shards-job.yaml", "40-merge-job.yaml"]
    );
    let again = run_in_root(&with_ns);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("already holds 00-namespace.yaml"), "{}", stderr(&again));
    let bad = run_in_root(&["k8s", "profiles/smoke.toml", "--image", "i:1", "--namespace", "Load_Test"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--namespace: \"Load_Test\" is not a namespace name"), "{}", stderr(&bad));
}

/// Outside an Indexed Job, `--shard auto` says which variable is missing; a count that
/// does not hold the index says so; neither sends anything.
#[test]
fn shard_auto_outside_a_job_names_the_variable() {
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = einv();
        cmd.current_dir(root()).args(["run", "profiles/smoke.toml", "--shard", "auto", "--no-progress"]);
        cmd.env_remove("JOB_COMPLETION_INDEX").env_remove("EINV_SHARDS").envs(vars.iter().copied());
        cmd.output().unwrap()
    };
    let o = run(&[("EINV_SHARDS", "3")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--shard auto: JOB_COMPLETION_INDEX is not set"), "{}", stderr(&o));
    let o = run(&[("JOB_COMPLETION_INDEX", "1"), ("EINV_SHARDS", "three")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("EINV_SHARDS=\"three\" is not a whole number"), "{}", stderr(&o));
    let o = run(&[("JOB_COMPLETION_INDEX", "3"), ("EINV_SHARDS", "3")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("JOB_COMPLETION_INDEX=3 is not below EINV_SHARDS=3"), "{}", stderr(&o));
}

#[test]
fn a_start_whose_schedule_is_over_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r").display().to_string();
    let o = run_in_root(&["run", "profiles/smoke.toml", "--start-at", "2020-01-01T00:00:00Z", "--out", &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--start-at: 2020-01-01T00:00:00.000Z is too long ago"), "{}", stderr(&o));
    assert!(!dir.path().join("r").exists(), "nothing is written");
    let o = run_in_root(&["run", "profiles/smoke.toml", "--start-at", "tomorrow"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("write a UTC time such as"), "{}", stderr(&o));
}

/// A profile one process cannot carry is warned about, with the count that would do.
#[test]
fn validate_warns_when_one_process_is_over_its_limits() {
    let o = run_in_root(&["validate", "profiles/pool-exhaustion.toml"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("warning: one process would send 12000/s at the peak"), "{}", stderr(&o));
    assert!(stderr(&o).contains("[shards] count = 2"), "{}", stderr(&o));
    let o = run_in_root(&["validate", "profiles/double11-peak.toml"]);
    assert!(stdout(&o).contains("shards      2 processes, each peak 7500.0/s"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

/// A start more than a day ahead is a typo the process would wait for (and far enough
/// ahead, the clock overflows): `run --start-at` and `k8s --start-in` refuse it, exit 2.
#[test]
fn a_start_more_than_a_day_ahead_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r").display().to_string();
    for at in ["9999-12-31T23:59:59Z", "+25h", "+18446744073709551615s", "+500000000000years"] {
        let o = run_in_root(&["run", "profiles/smoke.toml", "--start-at", at, "--out", &out]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "--start-at {at}: {err}");
        assert!(err.contains("--start-at") && err.contains("must be at most 1day from now"), "{at}: {err}");
        assert!(!dir.path().join("r").exists(), "--start-at {at}: nothing is written");
    }
    for start_in in ["25h", "300000years", "18446744073709551615s"] {
        let o = run_in_root(&["k8s", "profiles/smoke.toml", "--image", "x", "--start-in", start_in]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "--start-in {start_in}: {err}");
        assert!(err.contains("--start-in") && err.contains("must be at most 1day"), "{start_in}: {err}");
        assert!(o.stdout.is_empty(), "--start-in {start_in}: no manifest");
    }
}
