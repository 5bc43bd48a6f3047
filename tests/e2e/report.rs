//! `einv-load report DIR`: a folder rendered again from its data gives the files the run
//! wrote, in place or into --out, and anything that is not a report folder is bad input.

use std::path::Path;

use crate::{run_in_root, stderr};

const DERIVED: [&str; 10] = [
    "index.html",
    "summary.md",
    "junit.xml",
    "latency.hgrm",
    "service.hgrm",
    "latency-timeline.svg",
    "latency-spectrum.svg",
    "latency-spectrum-ops.svg",
    "errors-timeline.svg",
    "pool-timeline.svg",
];
const DATA: [&str; 4] = ["summary.json", "timeseries.csv", "histograms.hlog", "pool.csv"];

fn simulated(dir: &Path) -> String {
    let out = dir.join("sim").display().to_string();
    let o = run_in_root(&["simulate", "profiles/smoke.toml", "--duration", "4s", "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    out
}

fn read(dir: &Path, files: &[&str]) -> Vec<Vec<u8>> {
    files.iter().map(|f| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"))).collect()
}

#[test]
fn report_rerenders_in_place_what_the_run_wrote_without_touching_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = simulated(tmp.path());
    let dir = Path::new(&dir);
    let (derived, data) = (read(dir, &DERIVED), read(dir, &DATA));
    std::fs::remove_file(dir.join("index.html")).unwrap();
    std::fs::write(dir.join("errors-timeline.svg"), "stale").unwrap();
    let o = run_in_root(&["report", &dir.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(read(dir, &DERIVED) == derived, "report DIR must write exactly what simulate wrote");
    assert!(read(dir, &DATA) == data, "data files are never rewritten");
    assert!(!dir.join("connections-timeline.svg").exists(), "a simulation has no client connections");
}

#[test]
fn report_out_writes_a_complete_folder_and_never_overwrites_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = simulated(tmp.path());
    let copy = tmp.path().join("copy").display().to_string();
    let o = run_in_root(&["report", &dir, "--out", &copy]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (dir, copy_dir) = (Path::new(&dir), Path::new(&copy));
    assert!(read(copy_dir, &DERIVED) == read(dir, &DERIVED));
    assert!(read(copy_dir, &DATA) == read(dir, &DATA), "the copy holds the data too");
    // The copy is a report folder of its own now, so a second --out into it is refused.
    let o = run_in_root(&["report", &dir.display().to_string(), "--out", &copy]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already holds a report"), "{}", stderr(&o));
}

#[test]
fn report_refuses_what_is_not_a_report_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run_in_root(&["report", &tmp.path().display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a report folder (no summary.json)"), "{}", stderr(&o));
    assert!(!tmp.path().join("index.html").exists());

    let dir = simulated(tmp.path());
    let ts = Path::new(&dir).join("timeseries.csv");
    let text = std::fs::read_to_string(&ts).unwrap().replacen("\n0.000,", "\nzero,", 1);
    std::fs::write(&ts, text).unwrap();
    let o = run_in_root(&["report", &dir]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("timeseries.csv") && err.contains("line 2"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `report` reads a folder as `merge` and `compare` do: an empty or duplicated interval
/// log, or a summary of another schema, is refused naming the file, and nothing is
/// rendered from it.
#[test]
fn report_refuses_a_folder_merge_and_compare_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = simulated(tmp.path());
    let (hlog, json) = (Path::new(&dir).join("histograms.hlog"), Path::new(&dir).join("summary.json"));
    let (log, summary) = (std::fs::read(&hlog).unwrap(), std::fs::read_to_string(&json).unwrap());
    let doubled = [log.clone(), log.clone()].concat();
    let schema_2 = summary.replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
    let cases: [(&Path, &[u8], &str); 3] = [
        (&hlog, b"", "histograms.hlog: holds 0 latency values for issue"),
        (&hlog, &doubled, "histograms.hlog: holds"),
        (&json, schema_2.as_bytes(), "summary.json: schema_version 2, this einv-load reads 1"),
    ];
    let compared = tmp.path().join("compared").display().to_string();
    for (file, bytes, error) in cases {
        std::fs::write(file, bytes).unwrap();
        std::fs::remove_file(Path::new(&dir).join("index.html")).unwrap_or_default();
        for args in [vec!["report", &dir], vec!["compare", &dir, &dir, "--out", &compared]] {
            let o = run_in_root(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?} {error}: {}", stderr(&o));
            assert!(stderr(&o).contains(error), "{args:?}: {}", stderr(&o));
        }
        assert!(!Path::new(&dir).join("index.html").exists(), "nothing rendered from a bad folder");
        std::fs::write(&hlog, &log).unwrap();
        std::fs::write(&json, &summary).unwrap();
    }
    let o = run_in_root(&["report", &dir]);
    assert_eq!(o.status.code(), Some(0), "the folder restored is fine again: {}", stderr(&o));
}
