//! Output paths that are not a new regular file: a character device or a FIFO is written
//! through and never replaced, `-` is standard output, a directory or an existing file is
//! refused, and a reader that goes away (`| head`) is a normal end, not a panic.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{einv, root, run_in_root, stderr, stdout};

/// Run a command that needs privileges the test machine may not grant (mknod, mount):
/// `false` with a printed reason where it is refused, except under CI (root), where a
/// refusal is a failure so that the test cannot pass without testing anything.
pub fn privileged(what: &str, cmd: &mut Command) -> bool {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    if o.status.success() {
        return true;
    }
    let why = String::from_utf8_lossy(&o.stderr);
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true (root) but {what} failed: {why}");
    eprintln!("skipped: {what} is not permitted here ({}); run the tests as root", why.trim());
    false
}

/// `generate` of the smoke profile, `count` requests, to `out`.
fn generate(out: &Path, count: &str, extra: &[&str]) -> std::process::Output {
    let out = out.display().to_string();
    let mut args = vec!["generate", "profiles/smoke.toml", "--count", count, "--out", &out];
    args.extend_from_slice(extra);
    run_in_root(&args)
}

/// The JSON lines `generate` wrote, checked to be `count` whole requests.
fn requests(text: &str, count: usize) {
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert_eq!(lines.len(), count, "{text:.300}");
    assert!(lines.iter().all(|l| l["op"].is_string()));
}

#[test]
fn a_character_device_is_written_through_never_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let null = tmp.path().join("null");
    if !privileged("mknod", Command::new("mknod").arg(&null).args(["c", "1", "3"])) {
        return;
    }
    let o = generate(&null, "50", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let kind = std::fs::symlink_metadata(&null).unwrap().file_type();
    assert!(kind.is_char_device(), "the device node was replaced: {kind:?}");
    assert!(!tmp.path().join("null.tmp").exists());

    // A report writer too: serve --tls writes its certificate through the same helper.
    let mut child = einv()
        .args(["serve", "--tls", "--addr", "127.0.0.1:0", "--cert-out"])
        .arg(&null)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let second = lines.nth(1).and_then(Result::ok).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(second.contains("certificate (self-signed) written to"), "{second}");
    assert!(std::fs::symlink_metadata(&null).unwrap().file_type().is_char_device());
}

#[test]
fn a_fifo_is_written_through_to_its_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("requests");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    let reader = {
        let fifo = fifo.clone();
        // Opening blocks until the writer opens it: generate must open the FIFO itself.
        std::thread::spawn(move || {
            let mut text = String::new();
            std::fs::File::open(&fifo).unwrap().read_to_string(&mut text).unwrap();
            text
        })
    };
    let o = generate(&fifo, "30", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Checked before joining: a FIFO renamed away would leave the reader waiting.
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    requests(&reader.join().unwrap(), 30);
}

#[test]
fn a_dash_is_standard_output() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = root().join("profiles/smoke.toml");
    let o = einv().current_dir(tmp.path()).arg("generate").arg(&profile).args(["--count", "7", "--out", "-"]).output();
    let o = o.unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    requests(&stdout(&o), 7);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "no file named -");
}

#[test]
fn a_directory_or_an_existing_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let o = generate(tmp.path(), "5", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "nothing written beside it");
    let o = generate(&tmp.path().join("no/such/folder.jsonl"), "5", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    let file = tmp.path().join("mine.jsonl");
    std::fs::write(&file, "keep me").unwrap();
    let o = generate(&file, "5", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    let o = generate(&file, "5", &["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    requests(&std::fs::read_to_string(&file).unwrap(), 5);

    // Not even --force replaces a file of a report folder.
    let report = tmp.path().join("report");
    let o =
        run_in_root(&["simulate", "profiles/smoke.toml", "--duration", "2s", "--out", &report.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = std::fs::read(report.join("summary.json")).unwrap();
    let o = generate(&report.join("summary.json"), "5", &["--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("belongs to the report folder"), "{}", stderr(&o));
    assert_eq!(std::fs::read(report.join("summary.json")).unwrap(), before);
}

/// A pipe whose reader has already gone: writing to it fails with EPIPE at once, as
/// `| head -1` does once head has its line. (`true` reads nothing and exits.)
fn closed_pipe() -> Stdio {
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let writer = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    Stdio::from(writer)
}

#[test]
fn a_reader_that_goes_away_is_a_normal_end() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim").display().to_string();
    let commands: [&[&str]; 3] = [
        &["validate", "profiles/smoke.toml"],
        &["generate", "profiles/smoke.toml", "--count", "100000"],
        &["simulate", "profiles/smoke.toml", "--duration", "2s", "--out", &sim],
    ];
    for args in commands {
        let o = einv().current_dir(root()).args(args).stdout(closed_pipe()).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
    assert!(Path::new(&sim).join("summary.json").is_file(), "the report is written all the same");
}
