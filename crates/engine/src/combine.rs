//! `merge` and `compare`: finished report folders in, a new report or a comparison out.
//! The work is `einv-report`'s; here the output folder is chosen and guarded.

use std::path::{Path, PathBuf};

use einv_report::{COMPARE_JSON, Compared, Summary};

use crate::error::Error;
use crate::folder;

/// Merge the shard folders `dirs` into `out`, which must not hold a report yet.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Summary, Error> {
    folder::check(Some(out))?;
    // The inputs are all read and checked before `out` is created.
    Ok(einv_report::merge(dirs, out)?)
}

/// A comparison and the folder it was written to.
#[derive(Debug)]
pub struct CompareResult {
    pub compared: Compared,
    pub folder: PathBuf,
}

/// Compare `current` with `baseline` and write the comparison to `out`, by default
/// `CURRENT/compare-<baseline folder name>/`. A folder holding a comparison is refused.
pub fn compare(
    baseline: &Path,
    current: &Path,
    max_regression: f64,
    out: Option<&Path>,
) -> Result<CompareResult, Error> {
    let compared = einv_report::compare(baseline, current, max_regression)?;
    let out = match out {
        Some(o) => o.to_path_buf(),
        None => current.join(format!("compare-{}", folder_name(baseline))),
    };
    if out.join(COMPARE_JSON).exists() {
        let message = format!("already holds a comparison ({COMPARE_JSON}); choose another --out or remove it");
        return Err(Error::Folder { path: out, message });
    }
    std::fs::create_dir_all(&out).map_err(|e| Error::Folder { path: out.clone(), message: e.to_string() })?;
    compared.write(&out)?;
    Ok(CompareResult { compared, folder: out })
}

/// The last component of `dir` as written, or of its absolute form for `.` and `..`.
fn folder_name(dir: &Path) -> String {
    let named = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    named(dir).or_else(|| dir.canonicalize().ok().as_deref().and_then(named)).unwrap_or_else(|| "baseline".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_comparison_folder_is_named_after_the_baseline() {
        assert_eq!(folder_name(Path::new("reports/nightly-20261121T000000Z")), "nightly-20261121T000000Z");
        assert_eq!(folder_name(Path::new("reports/last-good/")), "last-good");
        assert_ne!(folder_name(Path::new(".")), "");
    }
}
