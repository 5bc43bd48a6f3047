//! Input files that are not what they seem: a FIFO, a device node, a file too large, a line
//! that never ends, a body path that leaves its folder. Every kind of input (profile,
//! trace, trace body, feeder, the log behind a `from-report` hold, the folders `report`,
//! `merge` and `compare` read) is refused with exit 2 and a message naming the file and
//! what was expected: never a hang, never memory without bound, never a panic.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{einv, root};

/// A command still running after this long is hung (a read that blocks for ever). A
/// debug build validates a profile in well under a second however busy the machine, so
/// two minutes cannot be reached by a command that is merely slow.
const HUNG: Duration = Duration::from_secs(120);
/// A command whose resident memory passes this reads without bound (a debug build
/// validates in about 25 MB); it is killed before it can take the machine's memory.
const RUNAWAY_KB: u64 = 1 << 20;

/// What a command printed and how it ended, and its peak resident memory as far as its
/// /proc status showed it (VmHWM, read while it ran).
struct Ran {
    output: Output,
    peak_kb: u64,
}

impl Ran {
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Exit 2 with one short message holding every piece of `expected`, and no panic.
    fn refused(&self, args: &[&str], expected: &[&str]) {
        let err = self.stderr();
        assert_eq!(self.code(), Some(2), "einv-load {args:?}: {err}");
        for piece in expected {
            assert!(err.contains(piece), "einv-load {args:?}: expected {piece:?} in: {err}");
        }
        assert!(!err.contains("panicked") && !err.contains("stack backtrace"), "{err}");
        assert!(err.len() < 1_000, "einv-load {args:?}: a {} byte message", err.len());
    }
}

/// Run einv-load in `dir`; kill it (by its handle) and fail if it hangs or runs away.
fn einv_in(dir: &Path, args: &[&str]) -> Ran {
    let (mut out, mut err) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
    let mut child = einv()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .spawn()
        .expect("the einv-load binary runs");
    let started = Instant::now();
    let mut peak_kb = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        peak_kb = peak_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
        let runaway = peak_kb > RUNAWAY_KB;
        if runaway || started.elapsed() > HUNG {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("einv-load {args:?} {}", if runaway { "grew past 1 GiB" } else { "hung" });
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let read = |f: &mut File| {
        let mut bytes = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut bytes).unwrap();
        bytes
    };
    Ran { output: Output { status, stdout: read(&mut out), stderr: read(&mut err) }, peak_kb }
}

/// The process's peak resident memory so far (VmHWM), in kB.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success(), "mkfifo {path:?}");
}

/// A device node that reads like /dev/zero (never ends), made in the test's own folder.
/// Only root may make one: elsewhere the device cases are skipped, and say so.
fn mknod_zero(path: &Path) -> bool {
    let made = Command::new("mknod").arg(path).args(["c", "1", "5"]).stderr(Stdio::null()).status();
    let made = made.is_ok_and(|s| s.success());
    if !made {
        eprintln!("skipped: the device-node case needs root (mknod {path:?} c 1 5 was refused)");
    }
    made
}

/// `start`, then `len` bytes without a line break.
fn endless_line(path: &Path, start: &str, len: usize) {
    let mut bytes = start.as_bytes().to_vec();
    bytes.resize(start.len() + len, b'x');
    std::fs::write(path, bytes).unwrap();
}

/// A built-in-target profile: `load` is the [load] table's body, `extra` more tables.
fn profile(load: &str, extra: &str) -> String {
    format!(
        "schema = 1\nname = \"inputs\"\n[target]\nurl = \"builtin\"\n[load]\n{load}\n\
         [[op]]\nname = \"issue\"\nmethod = \"POST\"\npath = \"/api/v1/invoices\"\n{extra}\n"
    )
}

const CONSTANT: &str = "[[load.stage]]\nkind = \"constant\"\nrate = 20\nduration = \"1s\"";

/// `validate`, `generate` and `run` of `p.toml` in `dir` all refuse it the same way, and
/// `run` writes nothing.
fn every_command_refuses(dir: &Path, expected: &[&str]) {
    for args in [&["validate", "p.toml"][..], &["generate", "p.toml"], &["run", "p.toml", "--out", "report"]] {
        einv_in(dir, args).refused(args, expected);
    }
    assert!(!dir.join("report").exists(), "a refused run writes no report folder");
}

/// A FIFO at `file`, then (as root) a device node: every command refuses each, naming the
/// file after `context` (the profile key that names it, if any).
fn special_files_are_refused(dir: &Path, file: &Path, context: &str) {
    let name = file.file_name().unwrap().to_string_lossy();
    mkfifo(file);
    every_command_refuses(dir, &[context, &format!("{name}: is a named pipe (FIFO); expected a regular file")]);
    std::fs::remove_file(file).unwrap();
    if mknod_zero(file) {
        every_command_refuses(dir, &[context, &format!("{name}: is a character device; expected a regular file")]);
        std::fs::remove_file(file).unwrap();
    }
}

#[test]
fn profiles_are_regular_files_of_at_most_4_mib() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    special_files_are_refused(dir.path(), &p, "");
    let mut big = profile(CONSTANT, "");
    while big.len() <= 4 << 20 {
        big.push_str("# a comment line that pads the profile past its limit\n");
    }
    std::fs::write(&p, big).unwrap();
    every_command_refuses(dir.path(), &["p.toml: is larger than a profile may be (4 MiB)"]);
    // Under the limit but one 3 MiB line: a TOML error, quoted short.
    endless_line(&p, "name = ", 3 << 20);
    einv_in(dir.path(), &["validate", "p.toml"]).refused(&["validate"], &["p.toml"]);
    // Values of 3 MB are quoted by their start, and the message still says what is wrong.
    let long = "m".repeat(3_000_000);
    let cases = [
        (
            "[load]\n",
            format!("[load]\nmode = \"{long}\"\n"),
            "load.mode: expected \"open\", \"closed\" or \"replay\", got",
        ),
        ("url = \"builtin\"", format!("url = \"http://{long}\""), "target.url"),
    ];
    for (from, to, expected) in cases {
        std::fs::write(&p, profile(CONSTANT, "").replacen(from, &to, 1)).unwrap();
        einv_in(dir.path(), &["validate", "p.toml"]).refused(&["validate"], &[expected, "mmmm..."]);
    }
    // A file the profile names for TLS is read the same way.
    let tls = "schema = 1\nname = \"t\"\n[target]\nurl = \"https://127.0.0.1:1\"\ntls-ca = \"ca.pem\"\n\
               [load]\n[[load.stage]]\nkind = \"constant\"\nrate = 1\nduration = \"1s\"\n\
               [[op]]\nname = \"q\"\npath = \"/\"\n";
    std::fs::write(&p, tls).unwrap();
    mkfifo(&dir.path().join("ca.pem"));
    let args = ["validate", "p.toml"];
    einv_in(dir.path(), &args).refused(&args, &["target.tls-ca", "ca.pem: is a named pipe (FIFO)"]);
}

const REPLAY: &str = "mode = \"replay\"\ntrace = \"trace.csv\"";

#[test]
fn traces_are_regular_files_with_lines_of_at_most_1_mib() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), profile(REPLAY, "")).unwrap();
    let trace = dir.path().join("trace.csv");
    special_files_are_refused(dir.path(), &trace, "load.trace");
    endless_line(&trace, "offset,op\n0,issue\n0.1,", 3 << 20);
    every_command_refuses(dir.path(), &["trace.csv:3: has a line longer than 1 MiB (expected text with line breaks)"]);
    // A long value is named by its first 80 characters.
    std::fs::write(&trace, format!("offset,op\n0,{}\n", "o".repeat(500_000))).unwrap();
    let args = ["validate", "p.toml"];
    einv_in(dir.path(), &args).refused(&args, &["trace.csv:2: op \"oooooooo", "...\" is not an [[op]]"]);
}

#[test]
fn replay_bodies_are_read_at_validation_and_only_from_the_traces_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("replay");
    std::fs::create_dir_all(dir.join("bodies")).unwrap();
    std::fs::write(dir.join("p.toml"), profile(REPLAY, "")).unwrap();
    let secret = tmp.path().join("secret.json");
    std::fs::write(&secret, "{\"secret\":true}").unwrap();
    mkfifo(&dir.join("bodies/fifo"));
    std::fs::write(dir.join("bodies/big.json"), vec![b' '; (1 << 20) + 1]).unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("bodies/link")).unwrap();
    let outside = "is outside";
    let mut cases = vec![
        ("bodies/fifo".to_string(), "fifo: is a named pipe (FIFO); expected a regular file"),
        ("bodies/big.json".to_string(), "big.json: is larger than a replay body file may be (1 MiB)"),
        ("bodies/missing.json".to_string(), "missing.json: cannot open"),
        ("../secret.json".to_string(), outside),
        (secret.display().to_string(), outside),
        ("bodies/link".to_string(), outside),
    ];
    if mknod_zero(&dir.join("bodies/zero")) {
        cases.push(("bodies/zero".to_string(), "zero: is a character device; expected a regular file"));
    }
    std::fs::write(dir.join("bodies/ok.json"), "{}").unwrap();
    for (body, expected) in &cases {
        // The bad body is the second line's: the first is read, and nothing is sent.
        std::fs::write(dir.join("trace.csv"), format!("offset,op,body\n0,issue,bodies/ok.json\n0.1,issue,{body}\n"))
            .unwrap();
        every_command_refuses(&dir, &["load.trace", "trace.csv:3: body file ", expected]);
    }
    // body-root names a wider folder: the secret is then a body like any other.
    std::fs::write(dir.join("p.toml"), profile(&format!("{REPLAY}\nbody-root = \"..\""), "")).unwrap();
    std::fs::write(dir.join("trace.csv"), "offset,op,body\n0,issue,../secret.json\n").unwrap();
    let g = einv_in(&dir, &["generate", "p.toml"]);
    assert_eq!(g.code(), Some(0), "{}", g.stderr());
    let line: serde_json::Value = serde_json::from_slice(&g.output.stdout).unwrap();
    assert_eq!(line["body"], "{\"secret\":true}");
}

/// The bodies a run sends are the files' bytes, read before the run: the built-in target
/// accepts the lines whose file holds a valid invoice and refuses those whose file holds
/// `{}`.
#[test]
fn a_replay_sends_its_body_files() {
    let dir = tempfile::tempdir().unwrap();
    let invoice = "body = { generator = \"invoice\" }";
    std::fs::write(dir.path().join("p.toml"), profile(CONSTANT, invoice)).unwrap();
    let g = einv_in(dir.path(), &["generate", "p.toml", "--count", "1"]);
    let line: serde_json::Value = serde_json::from_slice(&g.output.stdout).unwrap();
    std::fs::write(dir.path().join("valid.json"), line["body"].as_str().unwrap()).unwrap();
    std::fs::write(dir.path().join("empty.json"), "{}").unwrap();
    std::fs::write(dir.path().join("p.toml"), profile(REPLAY, invoice)).unwrap();
    let mut trace = String::from("offset,op,body\n");
    for i in 0..20 {
        let body = if i % 2 == 0 { "empty.json" } else { "valid.json" };
        trace.push_str(&format!("{:.2},issue,{body}\n", f64::from(i) * 0.01));
    }
    std::fs::write(dir.path().join("trace.csv"), trace).unwrap();
    let ran = einv_in(dir.path(), &["run", "p.toml", "--out", "report", "--no-progress"]);
    assert!(matches!(ran.code(), Some(0 | 1)), "{}", ran.stderr());
    let issue = &crate::summary(&dir.path().join("report"))["ops"]["issue"];
    assert_eq!(issue["requests"]["sent"], 20);
    assert_eq!((&issue["requests"]["ok"], &issue["errors"]["http_4xx"]), (&10.into(), &10.into()), "{issue}");
}

#[test]
fn feeders_are_regular_files_with_rows_of_at_most_1_mib() {
    let dir = tempfile::tempdir().unwrap();
    let feeder = "[[feeder]]\nname = \"f\"\npath = \"f.csv\"";
    std::fs::write(dir.path().join("p.toml"), profile(CONSTANT, feeder)).unwrap();
    let f = dir.path().join("f.csv");
    special_files_are_refused(dir.path(), &f, "feeder[0].path");
    endless_line(&f, "", 3 << 20);
    every_command_refuses(dir.path(), &["f.csv:1: has a line longer than 1 MiB (expected text with line breaks)"]);
}

/// `validate` of a feeder that is one 64 MiB line: it used to read the line whole (and
/// take 290 MB); the reader stops at 1 MiB. The peak is VmHWM as /proc showed it while
/// the command ran, so it can only be under-read: a bound on it cannot fail spuriously.
#[test]
fn validate_of_a_feeder_without_line_breaks_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let feeder = "[[feeder]]\nname = \"f\"\npath = \"f.csv\"";
    std::fs::write(dir.path().join("p.toml"), profile(CONSTANT, feeder)).unwrap();
    endless_line(&dir.path().join("f.csv"), "", 64 << 20);
    let ran = einv_in(dir.path(), &["validate", "p.toml"]);
    ran.refused(&["validate"], &["f.csv:1: has a line longer than 1 MiB"]);
    println!("validate of a 64 MiB line: peak RSS {} kB", ran.peak_kb);
    assert!(ran.peak_kb < 64 << 10, "peak RSS {} kB: the line was read whole", ran.peak_kb);
}

/// A simulated report folder in `dir/name`: data to read back.
fn simulated(dir: &Path, name: &str) {
    let out = dir.join(name).display().to_string();
    let profile = root().join("profiles/smoke.toml").display().to_string();
    let ran = einv_in(dir, &["simulate", &profile, "--duration", "2s", "--out", &out]);
    assert_eq!(ran.code(), Some(0), "{}", ran.stderr());
}

/// Every way a histogram log can be hostile, each with what makes one at a path (false:
/// it could not be made here) and the message it must get.
type Hostile = (&'static str, fn(&Path) -> bool, &'static str);

fn hostile_logs() -> Vec<Hostile> {
    fn fifo(p: &Path) -> bool {
        mkfifo(p);
        true
    }
    fn endless(p: &Path) -> bool {
        endless_line(p, "", 3 << 20);
        true
    }
    fn bomb(p: &Path) -> bool {
        payload_bomb(p);
        true
    }
    vec![
        ("fifo", fifo, "histograms.hlog: is a named pipe (FIFO); expected a regular file"),
        ("device", mknod_zero, "histograms.hlog: is a character device; expected a regular file"),
        ("endless", endless, "histograms.hlog: line 1: has a line longer than 1 MiB"),
        ("payload", bomb, "histograms.hlog: line 2: truncated histogram payload"),
    ]
}

/// A log whose one histogram (uncompressed V2) claims a 4 GB payload in 40 bytes.
fn payload_bomb(path: &Path) {
    use base64::Engine;
    let mut v2 = (0x1c84_9303u32 | 0x10).to_be_bytes().to_vec();
    v2.extend_from_slice(&u32::MAX.to_be_bytes());
    v2.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3]);
    v2.extend_from_slice(&1u64.to_be_bytes());
    v2.extend_from_slice(&3_600_000_000u64.to_be_bytes());
    v2.extend_from_slice(&1f64.to_bits().to_be_bytes());
    let line = base64::engine::general_purpose::STANDARD.encode(&v2);
    std::fs::write(path, format!("#[StartTime: 1.000 (seconds since epoch)]\n0.000,1.000,1.0,{line}\n")).unwrap();
}

#[test]
fn holds_from_a_report_read_only_a_bounded_log() {
    let dir = tempfile::tempdir().unwrap();
    let hold = "[target.builtin]\nissue-hold = { from-report = \"run\", op = \"issue\" }";
    let text = profile(CONSTANT, "").replace("url = \"builtin\"\n", &format!("url = \"builtin\"\n{hold}\n"));
    std::fs::write(dir.path().join("p.toml"), text).unwrap();
    std::fs::create_dir(dir.path().join("run")).unwrap();
    let log = dir.path().join("run/histograms.hlog");
    for (name, make, expected) in hostile_logs() {
        if make(&log) {
            let args = ["validate", "p.toml"];
            einv_in(dir.path(), &args).refused(&args, &["target.builtin.issue-hold", expected]);
            std::fs::remove_file(&log).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn report_merge_and_compare_refuse_hostile_data_files() {
    let dir = tempfile::tempdir().unwrap();
    simulated(dir.path(), "good");
    for (name, make, expected) in hostile_logs() {
        let bad = dir.path().join(name);
        std::fs::create_dir(&bad).unwrap();
        for f in ["summary.json", "timeseries.csv", "pool.csv"] {
            std::fs::copy(dir.path().join("good").join(f), bad.join(f)).unwrap();
        }
        if !make(&bad.join("histograms.hlog")) {
            continue;
        }
        let out = format!("{name}-out");
        for args in [
            vec!["report", name, "--out", &out],
            vec!["merge", "good", name, "--out", &out],
            vec!["compare", "good", name, "--out", &out],
        ] {
            einv_in(dir.path(), &args).refused(&args, &[expected]);
            assert!(!dir.path().join(&out).join("summary.json").exists(), "{args:?} wrote a report");
        }
    }
    // The other data files go through the same reader.
    for f in ["summary.json", "timeseries.csv"] {
        let bad = dir.path().join(format!("fifo-{f}"));
        std::fs::create_dir(&bad).unwrap();
        for g in ["summary.json", "timeseries.csv", "histograms.hlog", "pool.csv"] {
            if g == f {
                mkfifo(&bad.join(g));
            } else {
                std::fs::copy(dir.path().join("good").join(g), bad.join(g)).unwrap();
            }
        }
        let name = bad.file_name().unwrap().to_str().unwrap();
        for args in [vec!["report", name], vec!["compare", "good", name]] {
            einv_in(dir.path(), &args)
                .refused(&args, &[&format!("{f}: is a named pipe (FIFO); expected a regular file")]);
        }
    }
}
