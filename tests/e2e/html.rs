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
var bottom = function (q) { var e = document.querySelector(q); return e ? Math.round(e.getBoundingClientRect().bottom) : -1; };
var fold = [window.innerWidth, window.innerHeight, bottom('#answer'), bottom('figure.main')].join(',');
document.documentElement.setAttribute('data-probe', s.join(';') + '|' + n + '|' + fold);
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

/// The first screen of a laptop: what a reader sees before scrolling.
const FOLD: (u32, u32) = (1366, 768);

/// Every src, and every href that leaves the folder: only #fragments, data: URLs and
/// links to files of the report's own folder (a capacity search's step reports) are allowed.
fn external_references(html: &str) -> Vec<String> {
    let urls = |attr: &'static str| {
        html.match_indices(attr).map(move |(i, _)| {
            html[i + attr.len()..].chars().take_while(|c| *c != '"' && *c != '\'').collect::<String>()
        })
    };
    let inside = |url: &String| url.starts_with('#') || url.starts_with("data:");
    let local = |url: &String| !url.contains(':') && !url.starts_with('/') && !url.contains("..");
    let src = ["src=\"", "src='"].into_iter().flat_map(urls).filter(|u| !inside(u));
    let href = ["href=\"", "href='"].into_iter().flat_map(urls).filter(|u| !inside(u) && !local(u));
    src.chain(href).collect()
}

/// Open `dir/index.html` at 1366x768: the answer sentence and the main chart are inside
/// the first screen, every chart has a size and something drawn in it (no empty box),
/// and nothing was fetched. Leaves screenshots beside it: the first screen
/// (`first-screen.png`) and the whole page.
fn check_in_chromium(chromium: &Path, dir: &Path, charts: usize) {
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert_eq!(external_references(&html), Vec::<String>::new(), "index.html must be self-contained");
    assert_eq!(html.matches("<svg").count(), charts, "charts inline in the page");
    let probe_page = dir.join("probe.html");
    std::fs::write(&probe_page, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let probe_at = |height: u32| {
        let o = headless(chromium, profile.path())
            .arg(format!("--window-size={},{height}", FOLD.0))
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
        let [sizes, resources, fold]: [&str; 3] = probe.split('|').collect::<Vec<_>>().try_into().unwrap();
        let fold: Vec<i64> = fold.split(',').map(|n| n.parse().unwrap()).collect();
        (sizes.to_string(), resources.to_string(), fold)
    };
    // Headless Chromium's window keeps some of its height for itself: grow the window by
    // that much so that the page's viewport is exactly the laptop's screen.
    let (_, _, first) = probe_at(FOLD.1);
    let (sizes, resources, fold) = probe_at(FOLD.1 + (i64::from(FOLD.1) - first[1]).max(0) as u32);
    let probe = format!("{sizes}|{resources}|{fold:?}");
    assert_eq!(resources, "0", "the page loaded resources");
    assert_eq!(fold[..2], [i64::from(FOLD.0), i64::from(FOLD.1)], "the viewport is the first screen of a laptop");
    let (answer, chart) = (fold[2], fold[3]);
    assert!(0 < answer && answer <= chart, "the answer sentence comes before the main chart: {fold:?}");
    assert!(chart <= fold[1], "the main chart ends inside the first screen ({chart} of {} px): {fold:?}", fold[1]);
    let sizes: Vec<Vec<u32>> =
        sizes.split(';').map(|s| s.split(['x', '/']).map(|n| n.parse().unwrap()).collect()).collect();
    assert_eq!(sizes.len(), charts, "{probe}");
    for s in &sizes {
        assert!(s[0] >= 300 && s[1] >= 200, "a chart laid out too small: {probe}");
        assert!(s[2] >= 300 && s[3] >= 200, "a chart with little drawn in it: {probe}");
    }
    let first = dir.join("first-screen.png");
    let o = headless(chromium, profile.path())
        .args([&format!("--window-size={},{}", FOLD.0, FOLD.1), &format!("--screenshot={}", first.display())])
        .arg(format!("file://{}", dir.join("index.html").display()))
        .output()
        .expect("chromium runs");
    assert!(first.is_file(), "no first-screen screenshot: {}", String::from_utf8_lossy(&o.stderr));
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
    // A failing ramp of one op: timeline, spectrum, per-op spectra, errors, pool.
    check_in_chromium(&chromium, &sim, 5);
    let sim_html = std::fs::read_to_string(sim.join("index.html")).unwrap();
    assert!(sim_html.contains("crossed 200.00 ms at") && sim_html.contains("first errors: database pool timeouts"));
    // A passing run against the built-in target: client connections instead of a pool, and
    // no errors, so a line of text where the errors chart would be an empty box: timeline,
    // per-op timelines, spectrum, per-op spectra, connections.
    let live = tmp.path().join("live");
    let live_s = live.display().to_string();
    // scripts/screenshots.sh sets EINV_KEEP_SCREENSHOTS to refresh the pictures in docs/:
    // the whole 10 s of the smoke profile then, for a picture of a run as users see it.
    let keep = std::env::var("EINV_KEEP_SCREENSHOTS").ok();
    let duration = if keep.is_some() { "10s" } else { "2s" };
    let o = run_in_root(&["run", "profiles/smoke.toml", "--duration", duration, "--no-progress", "--out", &live_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    check_in_chromium(&chromium, &live, 5);
    let live_html = std::fs::read_to_string(live.join("index.html")).unwrap();
    assert!(live_html.contains("No errors in this run.") && live_html.contains("SLO passed."), "{live_html}");
    // A capacity search: its answer and the chart with the answer marked.
    let cap = tmp.path().join("cap");
    let o = run_in_root(&["capacity", "--simulate", "profiles/capacity.toml", "--out", &cap.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    check_in_chromium(&chromium, &cap, 1);
    if let Some(keep) = keep {
        for (name, dir) in [("ramp", &sim), ("run", &live), ("capacity", &cap)] {
            let _ = std::fs::copy(dir.join("first-screen.png"), Path::new(&keep).join(format!("{name}.png")));
        }
    }
}
