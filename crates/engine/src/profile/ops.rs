//! The request side of a profile: ops (templates, extraction, checks), feeders and the
//! invoice workload, validated into domain types.

use std::collections::BTreeMap;
use std::path::Path;

use crate::driver::{valid_target, valid_token, valid_value};
use bytes::Bytes;
use einv_core::input::{InputError, clip};
use einv_workload::Format;
use einv_workload::feeder::{FeedMode, Feeder};
use einv_workload::invoice::{Dist, InvoiceSpec};
use einv_workload::requests::{Faults, OpTemplate};
use einv_workload::template::{EnvText, Scope, Template, expand_env};

use super::raw::{RawBody, RawBodyTable, RawCheck, RawDist, RawFeeder, RawInvoice, RawOp, RawWorkload};
use super::replay::{BodyReader, TEMPLATES};
use super::validate::Check;
use super::{Op, ResponseCheck};
use crate::driver::Secrets;

/// A CSV feeder of the profile.
#[derive(Debug, Clone)]
pub struct FeederSpec {
    pub name: String,
    pub path: std::path::PathBuf,
    pub mode: FeedMode,
    /// The header's column names (`None` when the file could not be read).
    pub columns: Option<Vec<String>>,
    /// The `${env.*}` values its path was written with: never shown.
    pub secrets: Vec<String>,
}

/// The invoice workload: payload shape, injected faults, captures.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    pub invoice: InvoiceSpec,
    pub faults: Faults,
    /// Capacity of each capture.
    pub capture_size: usize,
    /// Capture names, in index order (from the ops' `extract` keys).
    pub captures: Vec<String>,
}

pub(super) fn feeders(c: &mut Check, raw: Vec<RawFeeder>, dir: &Path) -> Vec<FeederSpec> {
    let mut out: Vec<FeederSpec> = Vec::new();
    for (i, f) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("feeder[{i}].{k}");
        // A feeder without a name or path is reported; a stand-in keeps the rest checked.
        let name = c.required(&key("name"), f.name).unwrap_or_default();
        let file = c.required(&key("path"), f.path);
        if out.iter().any(|o| o.name == name) {
            c.fail(&key("name"), format!("{name:?} is used by two feeders"));
        }
        let mode = match f.mode.as_deref().unwrap_or("circular") {
            "sequential" => FeedMode::Sequential,
            "random" => FeedMode::Random,
            "circular" => FeedMode::Circular,
            other => {
                c.fail(&key("mode"), format!("expected \"sequential\", \"random\" or \"circular\", got {other:?}"));
                FeedMode::Circular
            }
        };
        // `${env.DATA_DIR}/buyers.csv`: a folder that differs between machines.
        let file = file.and_then(|f| match expand_env(&f, &|name| std::env::var(name).ok()) {
            Ok(f) => Some(f),
            Err(why) => {
                c.fail(&key("path"), why);
                None
            }
        });
        let EnvText { text, secrets } = file.clone().unwrap_or_default();
        let path = dir.join(text);
        let opened = file.map(|_| Feeder::open(&path, mode, 0));
        let columns = match opened {
            Some(Ok(feeder)) => Some(feeder.columns().to_vec()),
            Some(Err(e)) => {
                c.fail(&key("path"), Secrets::new(secrets.iter().map(String::as_str)).mask(&e.to_string()));
                None
            }
            None => None,
        };
        // Kept even without columns, so ops that use it are not reported a second time.
        out.push(FeederSpec { name, path, mode, columns, secrets });
    }
    out
}

/// Resolves template names against the profile's feeders and captures.
struct ProfileScope<'a> {
    feeders: &'a [FeederSpec],
    captures: &'a [String],
}

impl Scope for ProfileScope<'_> {
    fn feeder(&self, feeder: &str, column: &str) -> Result<(usize, usize), String> {
        let f = self
            .feeders
            .iter()
            .position(|f| f.name == feeder)
            .ok_or_else(|| format!("no [[feeder]] named {feeder:?}"))?;
        let Some(columns) = &self.feeders[f].columns else { return Ok((f, 0)) };
        let col = columns.iter().position(|c| c == column);
        col.map(|col| (f, col))
            // The names come from the file: a header of long names must not make a long message.
            .ok_or_else(|| {
                format!("feeder {feeder:?} has no column {column:?} (it has {})", clip(&format!("{columns:?}")))
            })
    }

    fn capture(&self, name: &str) -> Result<usize, String> {
        self.captures.iter().position(|p| p == name).ok_or_else(|| {
            format!(
                "no op extracts into a capture named {name:?} (add extract = {{ {name} = \"/json/pointer\" }} to an op)"
            )
        })
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// Every capture name any op extracts into, sorted (their index order).
pub(super) fn capture_names(raw: &[RawOp]) -> Vec<String> {
    let mut names: Vec<String> = raw.iter().flat_map(|o| o.extract.keys().cloned()).collect();
    names.sort();
    names.dedup();
    names
}

pub(super) fn ops(c: &mut Check, raw: Vec<RawOp>, feeders: &[FeederSpec], captures: &[String]) -> Vec<Op> {
    if raw.is_empty() {
        c.fail("op", "the request mix is empty: add at least one [[op]] with a name and a path");
    }
    // Judged on the weights as written: a rejected weight (-1) is reported once, not also as 0.
    let all_zero = !raw.is_empty() && raw.iter().all(|o| o.weight == Some(0));
    let scope = ProfileScope { feeders, captures };
    let file: &Path = c.file;
    // The folder of "p.toml" is "", which names no folder to canonicalize.
    let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut files = BodyFiles { dir, reader: None };
    let mut ops: Vec<Op> = Vec::with_capacity(raw.len());
    for (i, o) in raw.into_iter().enumerate() {
        let op = op(c, i, o, &scope, &mut files);
        if ops.iter().any(|p| p.name == op.name) {
            c.fail(&format!("op[{i}].name"), format!("{:?} is used by two ops; names must be unique", op.name));
        }
        ops.push(op);
    }
    if all_zero {
        c.fail("op", "every op has weight 0: nothing would be sent");
    }
    ops
}

fn op(c: &mut Check, i: usize, o: RawOp, scope: &ProfileScope, files: &mut BodyFiles) -> Op {
    let key = |k: &str| format!("op[{i}].{k}");
    // An op without a name or path is reported; a stand-in keeps the rest checked.
    let name = c.required(&key("name"), o.name);
    let name_ok = |n: &String| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if let Some(n) = name.as_ref().filter(|n| !name_ok(n)) {
        c.fail(&key("name"), format!("{n:?}: use letters, digits, '-' and '_' only"));
    }
    let raw_path = c.required(&key("path"), o.path);
    let weight = u32::try_from(o.weight.unwrap_or(1)).unwrap_or_else(|_| {
        c.fail(&key("weight"), format!("must be a whole number from 0 to {}, got {}", u32::MAX, o.weight.unwrap_or(0)));
        0
    });
    let method = o.method.as_deref().unwrap_or("GET");
    if !valid_token(method.as_bytes()) {
        c.fail(&key("method"), format!("{method:?} is not an HTTP method"));
    }
    let method = method.to_ascii_uppercase();
    let mut compile = |c: &mut Check, k: &str, src: &str| {
        Template::parse(src, scope).unwrap_or_else(|e| {
            c.fail(&key(k), e);
            Template::default()
        })
    };
    let raw_path = raw_path.unwrap_or_default();
    let path = compile(c, "path", &raw_path);
    // The template's own text must make a valid path; placeholder values are
    // percent-encoded when rendered, so any value fits. "" is the target URL itself.
    let literal_path = literal(&path);
    if !literal_path.is_empty() && !valid_target(literal_path.as_bytes()) {
        c.fail(&key("path"), format!("{raw_path:?} must be an absolute path like \"/api/v1/invoices\" (or \"\")"));
    }
    let mut body_file = None;
    let body = match o.body {
        None => Template::default(),
        Some(RawBody::Text(t)) => compile(c, "body", &t),
        Some(RawBody::Table(t)) => {
            body_file = t.file.clone();
            body_table(c, &key("body"), t, scope, files)
        }
    };
    let body_file = body_file.map(|file| (file, body.format()));
    let (mut headers, templated) = headers(c, &key("headers"), o.headers, &mut compile);
    // A body template file says what it is; an op's own Content-Type wins.
    let typed = headers.iter().any(|(n, _)| n == "content-type") || templated.iter().any(|(n, _)| n == "content-type");
    if let Some(content_type) = body.format().content_type().filter(|_| !typed) {
        headers.push(("content-type".to_string(), content_type.to_string()));
    }
    let extract = o
        .extract
        .into_iter()
        .filter_map(|(capture, pointer)| {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                c.fail(
                    &key(&format!("extract.{capture}")),
                    format!("{pointer:?} is not a JSON pointer (like \"/invoice_no\")"),
                );
            }
            scope.captures.iter().position(|p| *p == capture).map(|p| (p, pointer))
        })
        .collect();
    let check = o.check.map(|ch| check(c, &key("check"), ch)).unwrap_or_default();
    let dynamic = !path.is_static() || !body.is_static() || !templated.is_empty();
    // Static templates are rendered once here (so `$$` means `$` everywhere).
    let static_body = if dynamic { Bytes::new() } else { Bytes::from(literal(&body)) };
    let template = dynamic.then_some(OpTemplate { path, headers: templated, body });
    let path = if dynamic { raw_path } else { literal_path };
    let body = static_body;
    Op { name: name.unwrap_or_default(), weight, method, path, headers, body, template, body_file, extract, check }
}

/// `body = { generator = "invoice" }` or `body = { file = "...", format = "..." }`.
fn body_table(c: &mut Check, key: &str, t: RawBodyTable, scope: &ProfileScope, files: &mut BodyFiles) -> Template {
    let sub = |k: &str| format!("{key}.{k}");
    if t.format.is_some() && t.file.is_none() {
        c.fail(&sub("format"), "applies to a body file only: add file = \"templates/NAME.json\"");
    }
    match (t.generator, t.file) {
        (Some(_), Some(_)) => c.fail(key, "give generator = \"invoice\" or file = \"...\", not both"),
        (Some(generator), None) if generator == "invoice" => {
            return Template::parse("${invoice}", scope).unwrap_or_default();
        }
        (Some(generator), None) => {
            c.fail(&sub("generator"), format!("unknown generator {generator:?}; expected \"invoice\""));
        }
        (None, Some(file)) => return files.template(c, key, &file, t.format.as_deref(), scope),
        (None, None) => c.fail(key, "expected generator = \"invoice\" or file = \"templates/NAME.json\""),
    }
    Template::default()
}

/// The ops' body template files: confined to the profile's folder, bounded, each read once.
struct BodyFiles<'a> {
    dir: &'a Path,
    /// Made when the first op names a file.
    reader: Option<Result<BodyReader, String>>,
}

impl BodyFiles<'_> {
    /// The template in `file` (relative to the profile), compiled in `format` or the
    /// format its extension names. Problems name the file, and a placeholder's line and column.
    fn template(
        &mut self,
        c: &mut Check,
        key: &str,
        file: &str,
        format: Option<&str>,
        scope: &ProfileScope,
    ) -> Template {
        let (file_key, format_key) = (format!("{key}.file"), format!("{key}.format"));
        let path = self.dir.join(file);
        let shown = clip(&path.to_string_lossy()).into_owned();
        let format = match format {
            Some(name) => Format::parse(name)
                .ok_or_else(|| (format_key, format!("unknown format {:?}; expected {}", clip(name), Format::NAMES))),
            None => Format::of_file(&path).ok_or_else(|| {
                let why = format!(
                    "cannot tell the format of {shown} from its name: end it in .json, .xml, .form or .txt, \
                     or add format = {}",
                    Format::NAMES
                );
                (file_key.clone(), why)
            }),
        };
        let format = match format {
            Ok(format) => format,
            Err((key, why)) => {
                c.fail(&key, why);
                return Template::default();
            }
        };
        let dir = self.dir;
        let reader = self.reader.get_or_insert_with(|| BodyReader::confined(dir, &TEMPLATES));
        let text = match reader {
            Ok(reader) => reader.read(&path),
            Err(e) => Err(e.clone()),
        }
        .and_then(|bytes| {
            String::from_utf8(bytes.to_vec())
                .map_err(|e| format!("body file {shown}: {}", InputError::NotUtf8 { at: e.utf8_error().valid_up_to() }))
        });
        let src = match text {
            Ok(src) => src,
            Err(why) => {
                c.fail(&file_key, why);
                return Template::default();
            }
        };
        Template::parse_as(&src, scope, format).unwrap_or_else(|e| {
            let (line, column) = e.line_col(&src);
            c.fail(&file_key, format!("{shown}:{line}:{column}: {}", e.message));
            Template::default()
        })
    }
}

/// A template with each placeholder as `x`: what it renders to, for static templates, and
/// a stand-in with the template's own text for checking the shape of templated ones.
fn literal(t: &Template) -> String {
    let mut out = Vec::new();
    t.render_literal(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Header name and value template, rendered per request.
type Templated = Vec<(String, Template)>;

type Compile<'a> = dyn FnMut(&mut Check, &str, &str) -> Template + 'a;

/// Static headers (valid names and values) and templated ones (rendered per request).
fn headers(
    c: &mut Check,
    key: &str,
    raw: BTreeMap<String, String>,
    compile: &mut Compile,
) -> (Vec<(String, String)>, Templated) {
    let (mut fixed, mut templated) = (Vec::new(), Vec::new());
    for (name, value) in raw {
        let key = format!("{key}.{name}");
        let lower = name.to_ascii_lowercase();
        if matches!(lower.as_str(), "content-length" | "transfer-encoding" | "connection") {
            c.fail(&key, "is set by einv-load itself (from the body and target.keep-alive)");
            continue;
        }
        if !valid_token(lower.as_bytes()) {
            c.fail(&key, "is not a valid header name");
            continue;
        }
        let t = compile(c, &key[key.find("headers").unwrap_or(0)..], &value);
        if !t.is_static() {
            templated.push((lower, t));
            continue;
        }
        let value = literal(&t);
        match valid_value(value.as_bytes()) {
            true => fixed.push((lower, value)),
            false => c.fail(&key, "has a value that is not a valid header value"),
        }
    }
    (fixed, templated)
}

fn check(c: &mut Check, key: &str, raw: RawCheck) -> ResponseCheck {
    let mut equals = Vec::new();
    for (pointer, value) in raw.equals {
        match serde_json::to_value(&value) {
            Ok(v) => equals.push((pointer, v)),
            Err(e) => c.fail(&format!("{key}.equals"), e.to_string()),
        }
    }
    for p in equals.iter().map(|(p, _)| p).chain(&raw.exists) {
        if !p.is_empty() && !p.starts_with('/') {
            c.fail(key, format!("{p:?} is not a JSON pointer (like \"/code\")"));
        }
    }
    ResponseCheck { status: raw.status.unwrap_or_default(), equals, exists: raw.exists }
}

pub(super) fn workload(c: &mut Check, raw: Option<RawWorkload>, captures: Vec<String>) -> WorkloadSpec {
    let raw = raw.unwrap_or(RawWorkload {
        duplicate_rate: None,
        invalid_rate: None,
        capture_size: None,
        pool_size_alias: None,
        invoice: None,
    });
    let mut share = |key: &str, v: Option<f64>| {
        let v = v.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&v) {
            c.fail(key, format!("must be a fraction from 0 to 1 (0.01 = 1%), got {v}"));
            return 0.0;
        }
        v
    };
    let faults = Faults {
        duplicate_rate: share("workload.duplicate-rate", raw.duplicate_rate),
        invalid_rate: share("workload.invalid-rate", raw.invalid_rate),
    };
    if faults.duplicate_rate + faults.invalid_rate > 1.0 {
        c.fail("workload.invalid-rate", "duplicate-rate + invalid-rate must not exceed 1");
    }
    let capture_size = match (raw.capture_size, raw.pool_size_alias) {
        (Some(_), Some(_)) => {
            c.fail("workload.pool-size", "is the older name of capture-size: give one of the two");
            10_000
        }
        (Some(n), None) => c.count("workload.capture-size", n, (1, 10_000_000)),
        (None, Some(n)) => c.count("workload.pool-size", n, (1, 10_000_000)),
        (None, None) => 10_000,
    };
    let invoice = raw.invoice.map(|i| invoice(c, i)).unwrap_or_default();
    WorkloadSpec { invoice, faults, capture_size, captures }
}

fn invoice(c: &mut Check, raw: RawInvoice) -> InvoiceSpec {
    let d = InvoiceSpec::default();
    let dist = |c: &mut Check, key: &str, raw: Option<RawDist>, default: Dist| {
        let dist = match raw {
            None => return default,
            Some(RawDist::Fixed(v)) => Dist::Fixed(v),
            Some(RawDist::Uniform { min, max }) => Dist::Uniform { min, max },
            Some(RawDist::LogNormal { p50, p99 }) => Dist::LogNormal { p50, p99 },
        };
        if let Err(e) = dist.validate() {
            c.fail(key, e.to_string());
        }
        dist
    };
    let special_share = raw.special_share.unwrap_or(d.special_share);
    if !(0.0..=1.0).contains(&special_share) {
        c.fail("workload.invoice.special-share", format!("must be a fraction from 0 to 1, got {special_share}"));
    }
    InvoiceSpec {
        lines: dist(c, "workload.invoice.lines", raw.lines, d.lines),
        max_lines: raw.max_lines.map_or(d.max_lines, |n| c.count("workload.invoice.max-lines", n, (1, 1000)) as u32),
        quantity: dist(c, "workload.invoice.quantity", raw.quantity, d.quantity),
        unit_price: dist(c, "workload.invoice.unit-price", raw.unit_price, d.unit_price),
        special_share,
        parties: raw.parties.map_or(d.parties, |n| c.count("workload.invoice.parties", n, (2, 1_000_000)) as u32),
    }
}
