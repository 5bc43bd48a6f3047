//! A hostile world: target URLs that are not exactly valid, and targets that misbehave in
//! every way a TCP peer can. Every server here is written in the test, listens on
//! 127.0.0.1:0 and is stopped when its guard drops; every run is short and low-rate.

use crate::{run_in_root, stderr, stdout};

/// A URL that is not exactly valid is bad input for `run --target` and for a profile
/// alike: exit 2, nothing written, and credentials in it are never printed.
#[test]
fn target_urls_that_are_not_exactly_valid_are_refused_without_printing_credentials() {
    let cases = [
        ("http://127.0.0.1:99999", "above 65535"),
        ("http://127.0.0.1:0", "port 0"),
        ("http://127.0.0.1:8080/api#v1", "fragment"),
        ("http://127.0.0.1:8080/?tenant=1", "query"),
        ("http://invoicer:s3cret@127.0.0.1:8080", "header"),
        ("http://invoicer:s3cret@127.0.0.1:99999", "header"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (url, says) in cases {
        let out = dir.path().join("report");
        let o = run_in_root(&["run", "profiles/smoke.toml", "--target", url, "--out", out.to_str().unwrap()]);
        let (err, text) = (stderr(&o), stdout(&o));
        assert_eq!(o.status.code(), Some(2), "{url}: {err}");
        assert!(err.contains("--target") && err.contains(says), "{url}: {err}");
        assert!(!err.contains("s3cret") && !text.contains("s3cret"), "{url}: credentials printed: {err}{text}");
        assert!(!out.exists(), "{url}: wrote {}", out.display());

        let profile = dir.path().join("p.toml");
        let smoke = std::fs::read_to_string(crate::root().join("profiles/smoke.toml")).unwrap();
        std::fs::write(&profile, smoke.replace("url = \"builtin\"", &format!("url = {url:?}"))).unwrap();
        let o = run_in_root(&["validate", profile.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "validate {url}: {err}");
        assert!(err.contains("target.url") && err.contains(says), "validate {url}: {err}");
        assert!(!err.contains("s3cret") && !stdout(&o).contains("s3cret"), "validate {url}: {err}");
    }
}
