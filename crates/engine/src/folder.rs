//! Report folders: `reports/<name>-<utc-stamp>/`, or exactly `--out DIR`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::Error;

/// Where runs land when `--out` is not given.
pub const DEFAULT_ROOT: &str = "reports";

/// Refuse an explicit `out` that already holds a report (or part of one), before any work
/// starts. Other files may stay: scripts often put their own notes beside a report.
pub fn check(out: Option<&Path>) -> Result<(), Error> {
    let Some(dir) = out else { return Ok(()) };
    // A temp file left by a run that was killed is part of a report too: named as it is.
    let names = einv_report::files::ALL.iter().flat_map(|f| [dir.join(f), einv_report::temp_path(&dir.join(f))]);
    if let Some(taken) = names.into_iter().find(|p| p.exists()) {
        let file = taken.file_name().unwrap_or_default().to_string_lossy();
        let message = format!("already holds a report ({file}); choose another --out or remove it");
        return Err(Error::Folder { path: dir.into(), message });
    }
    Ok(())
}

/// Create the folder for a new report. An explicit `out` must not hold a report, so an
/// earlier one is never overwritten; the default name adds a suffix if taken.
pub fn create(out: Option<&Path>, name: &str, now: SystemTime) -> Result<PathBuf, Error> {
    if let Some(dir) = out {
        let folder_err = |message: String| Error::Folder { path: dir.into(), message };
        check(out)?;
        std::fs::create_dir_all(dir).map_err(|e| folder_err(e.to_string()))?;
        return Ok(dir.into());
    }
    let stamp = stamp(now);
    let root = Path::new(DEFAULT_ROOT);
    std::fs::create_dir_all(root).map_err(|e| Error::Folder { path: root.into(), message: e.to_string() })?;
    for n in 1.. {
        let leaf = if n == 1 { format!("{name}-{stamp}") } else { format!("{name}-{stamp}-{n}") };
        let dir = root.join(leaf);
        // create_dir (not _all) fails if it exists: two runs in one second get two folders.
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::Folder { path: dir, message: e.to_string() }),
        }
    }
    unreachable!("the loop returns")
}

/// `20261121T213300Z`: sortable, and valid in file names everywhere.
pub fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string().replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_is_compact_utc() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        assert_eq!(stamp(t), "20261118T110640Z");
    }

    #[test]
    fn explicit_out_refuses_a_folder_holding_a_report() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("summary.json"), "{}").unwrap();
        let err = create(Some(dir.path()), "x", SystemTime::now()).unwrap_err();
        assert!(err.to_string().contains("already holds a report"), "{err}");
        assert_eq!(std::fs::read_to_string(dir.path().join("summary.json")).unwrap(), "{}");
    }

    #[test]
    fn a_temp_file_left_by_a_killed_run_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("histograms.hlog.tmp"), "").unwrap();
        let err = check(Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("(histograms.hlog.tmp)"), "{err}");
    }

    #[test]
    fn explicit_out_may_hold_other_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("time.txt"), "1.0").unwrap();
        assert_eq!(create(Some(dir.path()), "x", SystemTime::now()).unwrap(), dir.path());
    }
}
