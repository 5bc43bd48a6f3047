//! Ctrl-C (SIGINT) during work that has no live target: `simulate` writes the report of
//! the simulation so far, marked interrupted; `generate --out FILE` leaves no half file.
//! Neither leaves a temp file behind.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{einv, root, stderr, stdout, summary};

/// How long a process may take to appear busy or to end after a signal: far beyond what
/// either takes on a loaded machine (milliseconds), and only a bound against a hang.
const PATIENCE: Duration = Duration::from_secs(120);

/// Wait until `ready` holds (the process is at work), then send SIGINT and collect it.
fn interrupt_when(mut child: Child, ready: impl Fn() -> bool) -> Output {
    let since = Instant::now();
    while !ready() {
        assert!(child.try_wait().unwrap().is_none(), "ended before it could be interrupted");
        assert!(since.elapsed() < PATIENCE, "never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let since = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if since.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("SIGINT was ignored");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `einv-load ARGS OUT` started from the repository root, its output captured.
fn spawn(args: &[&str], out: &Path) -> Child {
    let mut c = einv();
    c.current_dir(root()).args(args).arg(out).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().unwrap()
}

fn temp_files(dir: &Path) -> Vec<String> {
    let names = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    names.filter(|n| n.ends_with(".tmp")).collect()
}

#[test]
fn sigint_ends_a_simulation_with_its_report_marked_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    // Ten hours at up to 12,000/s: minutes of CPU, so the signal comes mid-simulation.
    let child = spawn(&["simulate", "profiles/pool-exhaustion.toml", "--duration", "10h", "--out"], &out);
    let hlog = out.join("histograms.hlog.tmp");
    let o = interrupt_when(child, || std::fs::metadata(&hlog).is_ok_and(|m| m.len() > 1000));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).contains("INTERRUPTED"), "the summary is printed: {}", stdout(&o));
    let s = summary(&out);
    assert_eq!(s["interrupted"], true);
    let (ran, planned) = (s["run"]["duration_s"].as_f64().unwrap(), s["run"]["planned_duration_s"].as_f64().unwrap());
    assert!(ran > 0.0 && ran < planned, "ran {ran} of {planned} s");
    assert!(out.join("index.html").is_file() && out.join("pool.csv").is_file());
    assert_eq!(temp_files(&out), Vec::<String>::new());
}

#[test]
fn sigint_during_generate_leaves_no_half_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("requests.jsonl");
    let child = spawn(&["generate", "profiles/double11-peak.toml", "--count", "100000000", "--out"], &file);
    let tmp_file = tmp.path().join("requests.jsonl.tmp");
    let o = interrupt_when(child, || std::fs::metadata(&tmp_file).is_ok_and(|m| m.len() > 100_000));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "neither the file nor its temp");
}
