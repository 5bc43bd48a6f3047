//! The entry point of the `profile` fuzz target in `fuzz/` and of the test that replays
//! its corpus: bytes in, validated the way `einv-load validate` validates a profile file.
//! Errors are the expected answer to most inputs; a panic, a hang, an allocation past the
//! fuzzer's bound or a broken promise below (asserted) is a finding.

use std::path::Path;

use crate::{Error, Plan};

/// `data` as the profile `folder/profile.toml` ([`Plan::parse`]; the file itself is never
/// read, but files the profile names are, relative to `folder`).
///
/// Asserts what every profile error promises: a bad profile is reported as at least one
/// [`ProfileError`](crate::ProfileError), each naming a line inside the file (or none).
pub fn profile(folder: &Path, data: &[u8]) {
    // `Plan::load` refuses a file that is not UTF-8 before parsing it.
    let Ok(src) = std::str::from_utf8(data) else { return };
    let errors = match Plan::parse(src, &folder.join("profile.toml")) {
        Ok(_) => return,
        Err(Error::Profile(errors)) => errors.0,
        Err(other) => panic!("a profile's text is reported as profile errors, not as {other:?}"),
    };
    assert!(!errors.is_empty(), "a refused profile names at least one problem");
    let lines = src.matches('\n').count() + 1;
    for e in &errors {
        assert!(e.line.is_none_or(|l| (1..=lines).contains(&l)), "line {:?} of a {lines}-line file: {e}", e.line);
    }
}
