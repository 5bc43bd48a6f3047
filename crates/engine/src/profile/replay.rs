//! `[load] mode = "replay"`: the trace, read through when the profile is validated, and
//! its body files, read whole then: confined to one folder, bounded each and in all. The
//! dispatcher then never waits on a file, and a body that cannot be read is bad input
//! (exit 2) instead of an empty body sent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use einv_core::input::{self, Cap, clip, size};
use einv_workload::trace::TraceReader;

use super::raw::RawLoad;
use super::validate::Check;
use super::{DEFAULT_PACING, Load, Op};

/// `mode = "replay"`: the trace is read through later (see [`check_trace`]), once the ops
/// it names are known.
pub(super) fn replay(c: &mut Check, l: &RawLoad) -> Load {
    if !l.stages.is_empty() || l.duration.is_some() || l.arrivals.is_some() {
        c.fail("load", "a replay takes its timing from the trace: no stages, duration or arrivals");
    }
    let speed = l.speed.unwrap_or(1.0);
    if let Err(e) = einv_workload::trace::check_speed(speed) {
        c.fail("load.speed", e);
    }
    let dir = c.file.parent().unwrap_or(Path::new("."));
    let trace = match &l.trace {
        Some(t) => dir.join(t),
        None => {
            c.fail("load.trace", "a replay needs trace = \"path/to/trace.csv\" (relative to the profile)");
            PathBuf::new()
        }
    };
    let body_root = l.body_root.as_ref().map(|root| dir.join(root));
    let pacing = l.pacing.map_or(DEFAULT_PACING, |p| c.duration("load.pacing", p));
    let bodies = Arc::default();
    Load::Replay { trace, speed, arrivals: 0, duration: Duration::ZERO, pacing, body_root, bodies }
}

/// Read a replay's trace through: every line's op must be one of the profile's, every body
/// file is read, and the last offset gives the run's length. Problems name the trace file
/// and line.
pub(super) fn check_trace(c: &mut Check, load: &mut Load, ops: &[Op]) {
    let Load::Replay { trace, speed, arrivals, duration, body_root, bodies, .. } = load else { return };
    if trace.as_os_str().is_empty() {
        return;
    }
    let reader = match TraceReader::open(trace, *speed) {
        Ok(r) => r,
        Err(e) => return c.fail("load.trace", e.to_string()),
    };
    // The folder of "trace.csv" is "", which names no folder to canonicalize.
    let folder = trace.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let root = body_root.as_deref().unwrap_or(folder);
    let mut body_reader = match BodyReader::new(root) {
        Ok(r) => r,
        Err(e) => return c.fail(if body_root.is_some() { "load.body-root" } else { "load.trace" }, e),
    };
    let at_line = |line: u64, message: String| format!("{}:{line}: {message}", trace.display());
    for entry in reader {
        let e = match entry {
            Ok(e) => e,
            Err(e) => return c.fail("load.trace", e.to_string()),
        };
        if !ops.iter().any(|o| o.name == e.op) {
            let message = format!("op {:?} is not an [[op]] of this profile", clip(&e.op));
            return c.fail("load.trace", at_line(e.line, message));
        }
        if let Some(body) = &e.body
            && let Err(message) = body_reader.read(body)
        {
            return c.fail("load.trace", at_line(e.line, message));
        }
        *duration = e.at;
        *arrivals += 1;
    }
    *bodies = Arc::new(body_reader.finish());
    // The last arrival goes out at `duration`; a little room lets its answer count.
    *duration += Duration::from_millis(1);
}

/// Where a [`BodyReader`]'s files come from, for its limit and messages.
#[derive(Debug)]
pub(super) struct Confine {
    /// The largest file.
    cap: Cap,
    /// How to let in a file from elsewhere.
    hint: &'static str,
    /// What names the files: "the trace".
    whose: &'static str,
}

/// A replay's body files: in the trace's folder or `[load] body-root`.
const REPLAY: Confine = Confine {
    cap: Cap { bytes: 1 << 20, what: "a replay body file" },
    hint: "[load] body-root = \"DIR\" names another folder",
    whose: "the trace",
};

/// The ops' body template files (`body = { file = "..." }`): in the profile's folder.
pub(super) const TEMPLATES: Confine = Confine {
    cap: Cap { bytes: 1 << 20, what: "a body template file" },
    hint: "keep templates in the profile's folder or below it",
    whose: "the profile",
};

/// All body files of a trace together, in bytes.
const BODIES_TOTAL: u64 = 256 << 20;
/// Most distinct body files a trace may name (each costs a map entry besides its bytes).
const BODIES_COUNT: usize = 100_000;

/// Body files by the path the trace reader gives (the trace's folder joined with the
/// line's `body`), each read once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bodies {
    files: HashMap<PathBuf, Bytes>,
    total: u64,
}

impl Bodies {
    /// The body of `path`, if validation read it.
    pub fn get(&self, path: &Path) -> Option<&Bytes> {
        self.files.get(path)
    }

    /// Distinct files and their bytes in all.
    pub fn size(&self) -> (usize, u64) {
        (self.files.len(), self.total)
    }
}

/// Reads body files into [`Bodies`], refusing any that resolve outside `root`.
#[derive(Debug)]
pub(super) struct BodyReader {
    /// Canonical: symlinks and `..` resolved, so a prefix test is a containment test.
    root: PathBuf,
    bodies: Bodies,
    /// [`BODIES_COUNT`] and [`BODIES_TOTAL`] (smaller in tests).
    max_count: usize,
    max_total: u64,
    confine: &'static Confine,
}

impl BodyReader {
    /// A replay's bodies must lie inside the folder `root`.
    pub fn new(root: &Path) -> Result<BodyReader, String> {
        BodyReader::confined(root, &REPLAY)
    }

    /// Files must lie inside the folder `root`; `confine` says what they are.
    pub fn confined(root: &Path, confine: &'static Confine) -> Result<BodyReader, String> {
        let real = root.canonicalize().map_err(|e| format!("{}: cannot open: {e}", root.display()))?;
        if !real.is_dir() {
            return Err(format!("{}: is not a folder", root.display()));
        }
        let (bodies, max_count, max_total) = (Bodies::default(), BODIES_COUNT, BODIES_TOTAL);
        Ok(BodyReader { root: real, bodies, max_count, max_total, confine })
    }

    /// Read the body file `path` unless it was read already; its bytes.
    pub fn read(&mut self, path: &Path) -> Result<Bytes, String> {
        if let Some(bytes) = self.bodies.files.get(path) {
            return Ok(bytes.clone());
        }
        let Confine { cap, hint, whose } = self.confine;
        let shown = clip(&path.to_string_lossy()).into_owned();
        let real = path.canonicalize().map_err(|e| format!("body file {shown}: cannot open: {e}"))?;
        if !real.starts_with(&self.root) {
            return Err(format!(
                "body file {shown} is outside {} (absolute paths, `..` and symlinks may not leave it; {hint})",
                self.root.display()
            ));
        }
        if self.bodies.files.len() == self.max_count {
            return Err(format!("body file {shown}: {whose} names more than {} body files", self.max_count));
        }
        let bytes = input::read(&real, *cap).map_err(|e| format!("body file {shown}: {e}"))?;
        self.bodies.total += bytes.len() as u64;
        if self.bodies.total > self.max_total {
            let total = size(self.max_total);
            return Err(format!("body file {shown}: {whose}'s body files take more than {total} in all"));
        }
        let bytes = Bytes::from(bytes);
        self.bodies.files.insert(path.to_path_buf(), bytes.clone());
        Ok(bytes)
    }

    pub fn finish(self) -> Bodies {
        self.bodies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_inside_the_root_are_read_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/one.json"), "{}").unwrap();
        let mut r = BodyReader::new(dir.path()).unwrap();
        for written in ["b/one.json", "b/../b/one.json", "b/one.json"] {
            r.read(&dir.path().join(written)).unwrap();
        }
        let bodies = r.finish();
        assert_eq!(bodies.size(), (2, 4), "two spellings of one file, each read once");
        assert_eq!(bodies.get(&dir.path().join("b/one.json")).unwrap().as_ref(), b"{}");
    }

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("replay");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).unwrap();
        let mut r = BodyReader::new(&root).unwrap();
        let absolute = dir.path().join("secret");
        for path in [root.join("../secret"), absolute, root.join("link")] {
            let err = r.read(&path).unwrap_err();
            assert!(err.contains(" is outside "), "{path:?}: {err}");
            assert!(err.contains("[load] body-root"), "{err}");
        }
        // A wider root lets them in.
        let mut wide = BodyReader::new(dir.path()).unwrap();
        wide.read(&root.join("link")).unwrap();
    }

    #[test]
    fn each_body_and_all_of_them_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; (1 << 20) + 1]).unwrap();
        let mut r = BodyReader::new(dir.path()).unwrap();
        let err = r.read(&big).unwrap_err();
        assert!(err.ends_with("big: is larger than a replay body file may be (1 MiB)"), "{err}");
        (r.max_count, r.max_total) = (3, 10);
        for (name, text) in [("a", "1234"), ("b", "5678"), ("c", "90"), ("d", "")] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        for name in ["a", "b", "c"] {
            r.read(&dir.path().join(name)).unwrap();
        }
        assert_eq!(r.bodies.size(), (3, 10), "exactly the limits");
        let err = r.read(&dir.path().join("d")).unwrap_err();
        assert!(err.ends_with(": the trace names more than 3 body files"), "{err}");
        r.max_count = 10;
        std::fs::write(dir.path().join("d"), "x").unwrap();
        let err = r.read(&dir.path().join("d")).unwrap_err();
        assert!(err.ends_with(": the trace's body files take more than 10 bytes in all"), "{err}");
    }
}
