//! index.html opened in headless Chromium (Debian's `chromium`): every chart is drawn with
//! a real size, and the page asks for nothing from the network or the disk. The test is
//! `#[ignore]`d, so `cargo test --workspace` passes with only Rust installed; .ci/run
//! installs Chromium and runs it with `--ignored`, and without Chromium it fails: it
//! never passes without having looked at the page.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{run_in_root, stderr};

/// Appended to a copy of the page: writes what the browser laid out into an attribute
/// that --dump-dom prints. Per <svg>: its box and the box of what is drawn inside it;
/// then how many resources the page loaded.
const PROBE: &str = "<script>
var s = Array.from(document.querySelectorAll('svg')).map(function (e) {
  var r = e.getBoundingClientRect(), b = e.getBBox();
  return Math.round(r.width) + 'x' + Math.round(r.height) + '/' + Math.round(b.width) + 'x' + Math.round(b.height);
});
var n = performance.getEntriesByType('resource').length;
document.documentElement.setAttribute('data-probe', s.join(';') + '|' + n);
</script>";

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

fn headless(chromium: &Path, profile: &Path) -> Command {
    // A browser that hangs must not hang the test suite.
    let mut c = Command::new("timeout");
    c.arg("120").arg(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Every src and href of the page: only #fragments and data: URLs are allowed.
fn external_references(html: &str) -> Vec<String> {
    ["src=\"", "href=\"", "src='", "href='"]
        .iter()
        .flat_map(|attr| html.match_indices(attr).map(move |(i, _)| &html[i + attr.len()..]))
        .map(|rest| rest.chars().take_while(|c| *c != '"' && *c != '\'').collect::<String>())
        .filter(|url| !url.starts_with('#') && !url.starts_with("data:"))
        .collect()
}

/// Open `dir/index.html`, check every chart has a size and nothing was fetched, and leave
/// a screenshot beside it.
fn check_in_chromium(chromium: &Path, dir: &Path, charts: usize) {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert_eq!(external_references(&html), Vec::<String>::new(), "index.html must be self-contained");
    assert_eq!(html.matches("<svg").count(), charts, "charts inline in the page");
    let probe_page = dir.join("probe.html");
    std::fs::write(&probe_page, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let o = headless(chromium, profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", probe_page.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&o.stdout);
    let probe = dom
        .split_once("data-probe=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(p, _)| p.to_string())
        .unwrap_or_else(|| panic!("no probe in the DOM: {}", String::from_utf8_lossy(&o.stderr)));
    let (sizes, resources) = probe.split_once('|').unwrap();
    assert_eq!(resources, "0", "the page loaded resources");
    let sizes: Vec<Vec<u32>> =
        sizes.split(';').map(|s| s.split(['x', '/']).map(|n| n.parse().unwrap()).collect()).collect();
    assert_eq!(sizes.len(), charts, "{probe}");
    for s in &sizes {
        assert!(s[0] >= 300 && s[1] >= 200, "a chart laid out too small: {probe}");
        assert!(s[2] >= 300 && s[3] >= 200, "a chart with little drawn in it: {probe}");
    }
    let shot = dir.join("screenshot.png");
    let o = headless(chromium, profile.path())
        .args(["--window-size=1280,5200", &format!("--screenshot={}", shot.display())])
        .arg(format!("file://{}", dir.join("index.html").display()))
        .output()
        .expect("chromium runs");
    let len = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    // A blank 1280x5200 page compresses to a few kB; tables and charts take far more.
    assert!(len > 50_000, "screenshot of {} bytes: {}", len, String::from_utf8_lossy(&o.stderr));
}

#[test]
#[ignore = "needs Chromium (Debian package chromium); .ci/run installs it and runs it"]
fn index_html_renders_every_chart_in_headless_chromium() {
    let chromium = chromium().expect("chromium is not on PATH: apt-get install chromium");
    let tmp = tempfile::tempdir().unwrap();
    // A simulation: pool gauges instead of client connections.
    let sim = tmp.path().join("sim");
    let args = ["simulate", "profiles/pool-exhaustion.toml", "--out", &sim.display().to_string()];
    let o = run_in_root(&args);
    assert_eq!(o.status.code(), Some(1), "the pool runs out: {}", stderr(&o));
    check_in_chromium(&chromium, &sim, 5);
    // A real run against the built-in target: client connections instead of a pool.
    let live = tmp.path().join("live");
    let live_s = live.display().to_string();
    let o = run_in_root(&["run", "profiles/smoke.toml", "--duration", "2s", "--no-progress", "--out", &live_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    check_in_chromium(&chromium, &live, 5);
    if let Ok(keep) = std::env::var("EINV_KEEP_SCREENSHOTS") {
        for (name, dir) in [("sim", &sim), ("live", &live)] {
            let _ = std::fs::copy(dir.join("screenshot.png"), Path::new(&keep).join(format!("{name}.png")));
        }
    }
}
