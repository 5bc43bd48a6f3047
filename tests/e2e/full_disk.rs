//! A disk that fills while the report is written: the summary is still printed,
//! summary.json is still written and names the files that are missing, no temp file is
//! left, and the exit code is 3. A real small filesystem (tmpfs) is mounted for it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::outputs::privileged;
use crate::{run_in_root, stderr, stdout, summary};

/// A tmpfs of `kib` KiB at `dir`, unmounted when dropped (also when the test fails).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, kib: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let size = format!("size={kib}k");
        privileged("mount -t tmpfs", Command::new("mount").args(["-t", "tmpfs", "-o", &size, "tmpfs"]).arg(dir))
            .then(|| Tmpfs(dir.into()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let done = Command::new("umount").arg(&self.0).status().is_ok_and(|s| s.success());
        if !done {
            // Busy (a file still open after a panic): detach it now, gone once closed.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// 100/s for 10 simulated minutes: 600 intervals, about 240 kB of histograms.hlog and
/// 100 kB of timeseries.csv and pool.csv, on a 256 KiB disk where summary.json reserves
/// 80 KiB at the start: histograms.hlog fills the disk mid-run.
const PROFILE: &str = r#"
schema = 1
name = "full-disk"
[target]
url = "builtin"
[target.builtin]
pool-size = 10
issue-hold = "5ms"
[[load.stage]]
kind = "constant"
rate = 100
duration = "10m"
[[op]]
name = "issue"
method = "POST"
path = "/api/v1/invoices"
"#;

#[test]
fn a_full_disk_loses_files_not_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let Some(disk) = Tmpfs::mount(&tmp.path().join("disk"), 256) else { return };
    let out = disk.0.join("sim");
    let o = run_in_root(&["simulate", &profile.display().to_string(), "--out", &out.display().to_string()]);
    assert_eq!(o.status.code(), Some(3), "data files are missing: {}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("requests  sent 60000 of 60000"), "the summary is printed: {}", stdout(&o));
    assert!(stderr(&o).contains("histograms.hlog was not written"), "{}", stderr(&o));

    let s = summary(&out);
    assert_eq!(s["overall"]["requests"]["sent"], 60_000, "summary.json has the whole result");
    let missing: Vec<&str> = s["not_written"].as_array().unwrap().iter().map(|n| n["file"].as_str().unwrap()).collect();
    assert!(missing.contains(&"histograms.hlog"), "{missing:?}");
    assert!(s["warnings"].to_string().contains("not written"), "{}", s["warnings"]);
    for f in std::fs::read_dir(&out).unwrap() {
        let name = f.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "temp file {name} left behind");
        assert!(!missing.contains(&name.as_str()), "{name} is listed as not written but is there");
    }
    // The folder is finished but incomplete: readers say which file is missing.
    let o = run_in_root(&["report", &out.display().to_string()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Which missing file it names depends on how full the disk got (timeseries.csv's
    // width decides that too): any of those not written.
    let named = missing.iter().any(|f| stderr(&o).contains(&format!("{f} was not written")));
    assert!(named, "{missing:?}: {}", stderr(&o));
    drop(disk);
}
