//! `einv-load report DIR`: render a report folder's derived files (charts, index.html,
//! summary.md, junit.xml, .hgrm) again from its data, in place or into another folder.

use std::path::{Path, PathBuf};

use einv_report::{NotWritten, POOL_CSV, Saved, files, render_folder, write_file};

use crate::error::Error;
use crate::folder;

/// What `rerender` wrote, and where; and what it could not write (a full disk).
#[derive(Debug)]
pub struct Rerendered {
    pub folder: PathBuf,
    pub files: Vec<&'static str>,
    pub not_written: Vec<NotWritten>,
}

/// Read the report folder `dir` and write its derived files into `out` (default: `dir`
/// itself, replacing only derived files, each atomically). A different `out` must not
/// hold a report yet; it gets a copy of the data files too, summary.json last, so it is a
/// complete report folder of its own.
pub fn rerender(dir: &Path, out: Option<&Path>) -> Result<Rerendered, Error> {
    let saved = Saved::load(dir).map_err(Error::Saved)?;
    let target = match out {
        Some(o) if !same_folder(dir, o) => o,
        _ => {
            let done = render_folder(dir, &saved)?;
            return Ok(Rerendered { folder: dir.into(), files: done.written, not_written: done.not_written });
        }
    };
    folder::check(Some(target))?;
    std::fs::create_dir_all(target).map_err(|e| Error::Folder { path: target.into(), message: e.to_string() })?;
    for data in [files::TIMESERIES, files::HLOG, POOL_CSV, files::ERRORS_JSONL] {
        let from = dir.join(data);
        // Optional data: only a simulation has pool.csv, only a live run errors.jsonl.
        if (data == POOL_CSV || data == files::ERRORS_JSONL) && !from.exists() {
            continue;
        }
        copy(&from, &target.join(data))?;
    }
    let done = render_folder(target, &saved)?;
    copy(&dir.join(files::SUMMARY), &target.join(files::SUMMARY))?;
    Ok(Rerendered { folder: target.into(), files: done.written, not_written: done.not_written })
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), Error> {
    let bytes = std::fs::read(from).map_err(|source| Error::Read { path: from.into(), source })?;
    Ok(write_file(to, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_that_is_not_a_report_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let e = rerender(dir.path(), None).unwrap_err();
        assert_eq!(e.verdict(), crate::Verdict::BadInput, "{e}");
        assert!(e.to_string().contains("not a report folder"), "{e}");
    }
}
