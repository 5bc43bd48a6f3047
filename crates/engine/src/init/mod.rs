//! `einv-load init`: write a first profile for the user's own service, in the format
//! people write by hand (commented, `schema = 1`), from a URL, a curl command or a HAR
//! file of a browser session. Nothing is asked: flags give the URL, rate and duration.
//!
//! The captured requests ([`capture::Captured`], from [`curl`] or [`har`]) become ops in
//! one place ([`capture::ops`]): one target origin, one op per method and path, secrets
//! moved into `${env.NAME}` placeholders ([`secrets`]) so the file never holds them.
//! [`render`] writes the text; before it is written it is validated as `validate` would,
//! so what `init` writes always loads.

mod capture;
mod curl;
mod har;
mod render;
mod secrets;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use einv_report::{Existing, Output};

pub use secrets::EnvVar;

use crate::error::Error;
use crate::profile::Plan;

/// Where the ops of a new profile come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitSource {
    /// One `GET` of this URL (its path is the op's path, the rest the target).
    Url(String),
    /// A curl command line, as a browser's "Copy as cURL" gives it.
    Curl(String),
    /// A HAR 1.2 file (a browser's "Save all as HAR", Playwright's `recordHar`).
    Har(PathBuf),
}

/// What `einv-load init` is asked for.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The profile's `name` (it names the report folders).
    pub name: String,
    pub source: InitSource,
    /// The constant rate of the one load stage, requests/s.
    pub rate: f64,
    pub duration: Duration,
}

/// What `init` wrote, for the user: where the load goes, which environment variables
/// hold the secrets that were taken out, and what was left out of the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initialized {
    pub target: String,
    pub ops: usize,
    pub env: Vec<EnvVar>,
    pub notes: Vec<String>,
}

/// A profile about to be written: everything [`render`] needs.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    name: String,
    /// What the ops came from, for the header comment ("a curl command", ...).
    source: String,
    /// The target origin, `http[s]://host[:port]`.
    url: String,
    /// curl -k against an https target: the profile skips certificate checks.
    insecure: bool,
    rate: f64,
    duration: Duration,
    ops: Vec<DraftOp>,
    env: Vec<EnvVar>,
    notes: Vec<String>,
}

/// One `[[op]]`: path, header values and body are template text (`$` written `$$`,
/// secrets as `${env.NAME}`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct DraftOp {
    name: String,
    weight: u32,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

const DEFAULT_URL: &str = "http://127.0.0.1:8080";

impl InitOptions {
    /// The default URL `init` writes when none is given.
    pub fn default_url() -> &'static str {
        DEFAULT_URL
    }
}

/// Write the profile `opts` asks for to `out` (see [`Output`]: `-` is standard output;
/// `existing` says whether a file there may be replaced).
pub fn init(opts: &InitOptions, out: &Path, existing: Existing) -> Result<Initialized, Error> {
    let draft = draft(opts)?;
    let text = render::profile(&draft);
    check(&draft, &text, out)?;
    let mut output = Output::create(out, existing)?;
    output.write_all(text.as_bytes()).map_err(|e| einv_report::Error::Io { path: out.into(), source: e })?;
    match output.commit() {
        Err(e) if e.is_broken_pipe() => {}
        other => other?,
    }
    Ok(Initialized { target: draft.url, ops: draft.ops.len(), env: draft.env, notes: draft.notes })
}

fn draft(opts: &InitOptions) -> Result<Draft, Error> {
    let flag = |flag, message: String| Error::Flag { flag, message };
    if opts.name.trim().is_empty() || opts.name.contains(['/', '\\']) {
        return Err(flag("NAME", format!("{:?} must be a non-empty name without slashes", opts.name)));
    }
    if !opts.rate.is_finite() || opts.rate <= 0.0 {
        return Err(flag("--rate", format!("must be a rate > 0 requests/s, got {}", opts.rate)));
    }
    if opts.duration.is_zero() {
        return Err(flag("--duration", "must be longer than 0s".into()));
    }
    let mut notes = Vec::new();
    let (source, captured, insecure) = match &opts.source {
        InitSource::Url(url) => {
            let c = capture::Captured::get(url).map_err(|m| flag("--url", m))?;
            (url.clone(), vec![c], false)
        }
        InitSource::Curl(cmd) => {
            let c = curl::parse(cmd, &mut notes)?;
            let insecure = c.insecure;
            ("a curl command".to_string(), vec![c.request], insecure)
        }
        InitSource::Har(path) => {
            let captured = har::read(path, &mut notes)?;
            (format!("{} ({} requests kept)", path.display(), captured.len()), captured, false)
        }
    };
    let flag_name = match opts.source {
        InitSource::Url(_) => "--url",
        InitSource::Curl(_) => "--from-curl",
        InitSource::Har(_) => "--from-har",
    };
    let imported = capture::ops(captured, &mut notes).map_err(|m| flag(flag_name, m))?;
    let insecure = insecure && imported.url.starts_with("https://");
    Ok(Draft {
        name: opts.name.clone(),
        source,
        url: imported.url,
        insecure,
        rate: opts.rate,
        duration: opts.duration,
        ops: imported.ops,
        env: imported.env,
        notes,
    })
}

/// Validate the text as `einv-load validate` will, with each secret's placeholder
/// standing in for its value (the variables need not be set yet): an error here is one
/// the user would meet next (a URL or header no profile can hold), named by its key.
fn check(draft: &Draft, text: &str, out: &Path) -> Result<(), Error> {
    let mut stand_in = text.to_string();
    for var in &draft.env {
        stand_in = stand_in.replace(&format!("${{env.{}}}", var.name), "secret");
    }
    let file = if out.as_os_str() == "-" { Path::new("(standard output)") } else { out };
    Plan::parse(&stand_in, file).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(source: InitSource) -> InitOptions {
        InitOptions { name: "shop".into(), source, rate: 10.0, duration: Duration::from_secs(30) }
    }

    #[test]
    fn a_blank_profile_validates_and_gets_the_endpoint_path() {
        let d = draft(&opts(InitSource::Url("http://127.0.0.1:9000/api/health".into()))).unwrap();
        assert_eq!(d.url, "http://127.0.0.1:9000");
        assert_eq!((d.ops[0].method.as_str(), d.ops[0].path.as_str()), ("GET", "/api/health"));
        let text = render::profile(&d);
        let plan = Plan::parse(&text, Path::new("shop.toml")).unwrap();
        assert_eq!(plan.name, "shop");
    }

    #[test]
    fn bad_flags_are_named() {
        let mut o = opts(InitSource::Url(DEFAULT_URL.into()));
        o.rate = 0.0;
        assert!(draft(&o).unwrap_err().to_string().starts_with("--rate:"));
        o.rate = 1.0;
        o.name = "a/b".into();
        assert!(draft(&o).unwrap_err().to_string().starts_with("NAME:"));
        let e = draft(&opts(InitSource::Url("ftp://h/x".into()))).unwrap_err().to_string();
        assert!(e.starts_with("--url:") && e.contains("http"), "{e}");
    }

    #[test]
    fn a_url_no_profile_can_hold_is_refused_before_writing() {
        let d = draft(&opts(InitSource::Url("http://127.0.0.1:99999/".into()))).unwrap();
        let e = check(&d, &render::profile(&d), Path::new("shop.toml")).unwrap_err().to_string();
        assert!(e.contains("target.url") && e.contains("65535"), "{e}");
    }
}
