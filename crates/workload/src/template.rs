//! Request templates: method-independent strings (path, header values, bodies) with
//! `${...}` placeholders, compiled once and rendered per request without re-parsing.
//!
//! | placeholder | value |
//! |---|---|
//! | `${index}` | the arrival's global index |
//! | `${order_no}` | this request's order number (unique in the run, shared by all shards) |
//! | `${uuid}` | a random UUID (v4 layout) from the request's seeded stream |
//! | `${invoice}` | the generated invoice JSON (bodies only) |
//! | `${invoice.FIELD}` | one field of that invoice ([`Field`]: `seller.uscc`, `total`, `lines`, ...) |
//! | `${feeder.NAME.COLUMN}` | a column of the row feeder NAME gives this request |
//! | `${capture.NAME}` | a value extracted from an earlier response (kept in the capture) |
//! | `${take.NAME}` | the same, removed from the capture (an invoice is reversed once) |
//! | `${env.NAME}` | an environment variable, read once at start (never printed) |
//!
//! `$$` is a literal `$`. `${pool.NAME}` is an older name of `${capture.NAME}`, still accepted.
//!
//! A template is parsed once into literal and placeholder parts; rendering appends to the
//! caller's buffer, escaping each value as the template's [`Format`] says (a path's values
//! are percent-encoded).

use einv_core::input::clip;

use crate::escape::{Escape, Format, PATH_VALUE};
use crate::invoice::{Field, Invoice, Value};

/// One placeholder, resolved to indices at compile time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    Index,
    OrderNo,
    Uuid,
    Invoice,
    Field(Field),
    Feeder {
        feeder: usize,
        column: usize,
    },
    Capture {
        capture: usize,
        take: bool,
    },
    /// The value, read at compile time; shown as `***` when secrets are masked.
    Env {
        name: String,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(Var),
}

/// What names a template may refer to.
pub trait Scope {
    /// (feeder index, column index) of `feeder.column`, or why not.
    fn feeder(&self, feeder: &str, column: &str) -> Result<(usize, usize), String>;
    /// The index of capture `name`, or why not.
    fn capture(&self, name: &str) -> Result<usize, String>;
    fn env(&self, name: &str) -> Option<String>;
}

/// A compiled template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
    format: Format,
}

/// Why a template does not compile, and where: `at` is the byte offset of the placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl ParseError {
    /// Line and column (both from 1, the column in characters) of the problem in `src`.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let before = &src[..self.at.min(src.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
    }
}

/// The values one request's placeholders take.
#[derive(Debug)]
pub struct Values<'a> {
    pub index: u64,
    pub order_no: &'a str,
    pub uuid: &'a str,
    /// This request's invoice, when its op uses one.
    pub invoice: Option<&'a Invoice<'a>>,
    /// The row of each feeder (empty for feeders this request does not use).
    pub rows: &'a [Vec<String>],
    /// The value drawn from each capture this request uses.
    pub captured: &'a [Option<String>],
    /// Replace `${env.*}` with `***` (for dry runs that print requests).
    pub mask_secrets: bool,
}

impl Template {
    /// Compile `src`, whose values are taken as they are; errors say what is wrong with
    /// which placeholder.
    pub fn parse(src: &str, scope: &dyn Scope) -> Result<Template, String> {
        Template::parse_as(src, scope, Format::Text).map_err(|e| e.message)
    }

    /// Compile `src`, written in `format`; errors say where the placeholder is.
    pub fn parse_as(src: &str, scope: &dyn Scope, format: Format) -> Result<Template, ParseError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = src;
        while let Some(at) = rest.find('$') {
            lit.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(r) = rest.strip_prefix("$$") {
                lit.push('$');
                rest = r;
            } else if let Some(r) = rest.strip_prefix("${") {
                let at = src.len() - rest.len();
                let fail = |message: String| ParseError { at, message };
                let end = r.find('}').ok_or_else(|| fail(format!("unclosed placeholder in {:?}", clip(src))))?;
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Var(var(r[..end].trim(), scope).map_err(fail)?));
                rest = &r[end + 1..];
            } else {
                lit.push('$');
                rest = &rest[1..];
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts, format })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Render with every placeholder as `x`: the template's own text, e.g. to check that
    /// a path template makes a valid path whatever its values (they are percent-encoded).
    pub fn render_literal(&self, out: &mut Vec<u8>) {
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.extend_from_slice(s.as_bytes()),
                Part::Var(_) => out.push(b'x'),
            }
        }
    }

    /// A template without placeholders renders the same bytes every time.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// The placeholders, in order.
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v),
            Part::Lit(_) => None,
        })
    }

    /// Render, each value escaped as the template's format says.
    pub fn render(&self, v: &Values, out: &mut Vec<u8>) {
        self.render_with(v, out, self.format.escape());
    }

    /// Render for a URL path: placeholder values are percent-encoded (a buyer name with
    /// spaces, a tax id, a token), the template's own text is kept as written.
    pub fn render_path(&self, v: &Values, out: &mut Vec<u8>) {
        self.render_with(v, out, Escape::Path);
    }

    fn render_with(&self, v: &Values, out: &mut Vec<u8>, escape: Escape) {
        // Only JSON values written into a non-JSON body pass through it (no allocation else).
        let mut scratch = Vec::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.extend_from_slice(s.as_bytes()),
                Part::Var(var) => render_var(var, v, escape, out, &mut scratch),
            }
        }
    }
}

/// `value` as [`Template::render_path`] puts a placeholder's value into a path (so that a
/// log can mask a secret in that form too).
pub fn path_encoded(value: &str) -> String {
    percent_encoding::percent_encode(value.as_bytes(), PATH_VALUE).to_string()
}

/// Text that may hold only `${env.NAME}` placeholders (a target URL, a file path),
/// resolved once: what it says, and the values it took, to mask wherever it is shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvText {
    pub text: String,
    pub secrets: Vec<String>,
}

/// Resolve the `${env.NAME}` placeholders of `src` with `env`; any other placeholder is
/// refused (these texts are read once, before any request exists).
pub fn expand_env(src: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<EnvText, String> {
    struct EnvOnly<'a>(&'a dyn Fn(&str) -> Option<String>);
    impl Scope for EnvOnly<'_> {
        fn feeder(&self, feeder: &str, column: &str) -> Result<(usize, usize), String> {
            Err(format!("${{feeder.{feeder}.{column}}} cannot be used here; only ${{env.NAME}} can"))
        }
        fn capture(&self, name: &str) -> Result<usize, String> {
            Err(format!("${{capture.{name}}} cannot be used here; only ${{env.NAME}} can"))
        }
        fn env(&self, name: &str) -> Option<String> {
            (self.0)(name)
        }
    }
    let template = Template::parse(src, &EnvOnly(env))?;
    let mut out = EnvText::default();
    for part in template.parts {
        match part {
            Part::Lit(s) => out.text.push_str(&s),
            Part::Var(Var::Env { value, .. }) => {
                out.text.push_str(&value);
                out.secrets.push(value);
            }
            Part::Var(_) => return Err("only ${env.NAME} placeholders can be used here".into()),
        }
    }
    Ok(out)
}

fn render_var(var: &Var, v: &Values, escape: Escape, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    // Digits and money need no escaping in any format.
    match var {
        Var::Index => out.extend_from_slice(itoa::Buffer::new().format(v.index).as_bytes()),
        Var::OrderNo => escape.put(out, v.order_no.as_bytes()),
        Var::Uuid => escape.put(out, v.uuid.as_bytes()),
        Var::Invoice => {
            if let Some(invoice) = v.invoice {
                escape.put_json(out, scratch, |o| invoice.write_json(o));
            }
        }
        Var::Field(field) => {
            let Some(invoice) = v.invoice else { return };
            match field.value(invoice) {
                Value::Text(s) => escape.put(out, s.as_bytes()),
                Value::Money(amount) => amount.write(out),
                Value::Count(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
                Value::Lines => escape.put_json(out, scratch, |o| invoice.write_lines_json(o)),
            }
        }
        Var::Feeder { feeder, column } => {
            let cell = v.rows.get(*feeder).and_then(|row| row.get(*column));
            escape.put(out, cell.map_or("", String::as_str).as_bytes());
        }
        Var::Capture { capture, .. } => {
            let value = v.captured.get(*capture).and_then(Option::as_deref);
            escape.put(out, value.unwrap_or("").as_bytes());
        }
        Var::Env { value, .. } => escape.put(out, if v.mask_secrets { b"***" } else { value.as_bytes() }),
    }
}

fn var(name: &str, scope: &dyn Scope) -> Result<Var, String> {
    if let Some(field) = name.strip_prefix("invoice.") {
        return Field::parse(field).map(Var::Field).ok_or_else(|| {
            // `tax_id` is the key of einv-load's own invoice JSON, the likeliest slip.
            let hint = if field.ends_with("tax_id") { " (a party's credit code is uscc)" } else { "" };
            format!("unknown invoice field ${{{}}}{hint}; the fields are {}", clip(name), Field::known())
        });
    }
    let parts: Vec<&str> = name.split('.').collect();
    match parts.as_slice() {
        ["index"] => Ok(Var::Index),
        ["order_no"] => Ok(Var::OrderNo),
        ["uuid"] => Ok(Var::Uuid),
        ["invoice"] => Ok(Var::Invoice),
        ["feeder", feeder, column] => {
            scope.feeder(feeder, column).map(|(feeder, column)| Var::Feeder { feeder, column })
        }
        // `pool.` is the older name, kept so existing profiles run unchanged.
        ["capture" | "pool", name] => scope.capture(name).map(|capture| Var::Capture { capture, take: false }),
        ["take", name] => scope.capture(name).map(|capture| Var::Capture { capture, take: true }),
        ["env", env] => match scope.env(env) {
            Some(value) => Ok(Var::Env { name: env.to_string(), value }),
            None => Err(format!("${{env.{env}}}: environment variable {env} is not set")),
        },
        _ => Err(format!(
            "unknown placeholder ${{{}}}; expected index, order_no, uuid, invoice, invoice.FIELD, \
             feeder.NAME.COLUMN, capture.NAME, take.NAME or env.NAME",
            clip(name)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::{Fault, InvoiceGen, InvoiceSpec};

    struct TestScope;

    impl Scope for TestScope {
        fn feeder(&self, feeder: &str, column: &str) -> Result<(usize, usize), String> {
            match (feeder, column) {
                ("buyers", "tax_id") => Ok((0, 1)),
                _ => Err(format!("no feeder column {feeder}.{column}")),
            }
        }
        fn capture(&self, name: &str) -> Result<usize, String> {
            if name == "invoice_no" { Ok(0) } else { Err(format!("no pool {name}")) }
        }
        fn env(&self, name: &str) -> Option<String> {
            (name == "TOKEN").then(|| "s3cret".to_string())
        }
    }

    fn render(src: &str, mask: bool) -> String {
        let t = Template::parse(src, &TestScope).unwrap();
        let rows = vec![vec!["Acme".to_string(), "91350200776049653A".to_string()]];
        let captured = vec![Some("26110000000000000042".to_string())];
        let v = Values {
            index: 7,
            order_no: "EL-7",
            uuid: "u",
            invoice: None,
            rows: &rows,
            captured: &captured,
            mask_secrets: mask,
        };
        let mut out = Vec::new();
        t.render(&v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn renders_every_kind_of_placeholder() {
        assert_eq!(render("/invoices/${pool.invoice_no}?i=${index}", false), "/invoices/26110000000000000042?i=7");
        assert_eq!(render("${feeder.buyers.tax_id}|${order_no}|${invoice}", false), "91350200776049653A|EL-7|");
        assert_eq!(render("Bearer ${env.TOKEN}", false), "Bearer s3cret");
        assert_eq!(render("Bearer ${env.TOKEN}", true), "Bearer ***", "secrets are masked in dry runs");
        assert_eq!(render("cost: $$5 and $x", false), "cost: $5 and $x");
    }

    #[test]
    fn path_values_are_percent_encoded_but_the_template_is_not() {
        let t = Template::parse("/q/${feeder.buyers.tax_id}?a=${pool.invoice_no}", &TestScope).unwrap();
        let rows = vec![vec!["x".to_string(), "厦门 A&B".to_string()]];
        let captured = vec![Some("1/2".to_string())];
        let v = Values {
            index: 0,
            order_no: "",
            uuid: "",
            invoice: None,
            rows: &rows,
            captured: &captured,
            mask_secrets: false,
        };
        let mut out = Vec::new();
        t.render_path(&v, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "/q/%E5%8E%A6%E9%97%A8%20A%26B?a=1%2F2");
    }

    /// Render `src` written in `format` with one generated invoice.
    fn render_invoice(src: &str, format: Format, fault: Option<Fault>) -> (String, String) {
        let invoice_gen = InvoiceGen::new(&InvoiceSpec::default(), 3).unwrap();
        let invoice = invoice_gen.generate(&mut invoice_gen.rng_for(5), "EL-5", fault);
        let v = Values {
            index: 5,
            order_no: "EL-5",
            uuid: "",
            invoice: Some(&invoice),
            rows: &[],
            captured: &[],
            mask_secrets: false,
        };
        let mut out = Vec::new();
        Template::parse_as(src, &TestScope, format).unwrap().render(&v, &mut out);
        let mut json = Vec::new();
        invoice.write_json(&mut json);
        (String::from_utf8(out).unwrap(), String::from_utf8(json).unwrap())
    }

    #[test]
    fn invoice_fields_come_from_one_invoice_in_every_format() {
        let src = r#"{"no":"${invoice.order_no}","seller":"${invoice.seller.uscc}","buyer":"${invoice.buyer.name}","amount":"${invoice.amount}","tax":"${invoice.tax}","total":"${invoice.total}","n":${invoice.line_count},"lines":${invoice.lines}}"#;
        let (body, whole) = render_invoice(src, Format::Json, None);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let whole: serde_json::Value = serde_json::from_str(&whole).unwrap();
        assert_eq!(body["no"], whole["order_no"]);
        assert_eq!(body["seller"], whole["seller"]["tax_id"]);
        assert_eq!(body["buyer"], whole["buyer"]["name"]);
        assert_eq!(body["total"], whole["total"]);
        assert_eq!((&body["amount"], &body["tax"]), (&whole["total_amount"], &whole["total_tax"]));
        assert_eq!(body["lines"], whole["lines"]);
        assert_eq!(body["n"].as_u64().unwrap() as usize, whole["lines"].as_array().unwrap().len());

        let (xml, _) = render_invoice("<i><lines>${invoice.lines}</lines></i>", Format::Xml, None);
        let inner = xml.strip_prefix("<i><lines>").and_then(|x| x.strip_suffix("</lines></i>")).unwrap();
        assert!(!inner.contains('"'), "quotes are escaped in XML: {inner}");
        let unescaped = inner.replace("&quot;", "\"").replace("&amp;", "&");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&unescaped).unwrap(), whole["lines"]);

        let (form, _) = render_invoice("b=${invoice.buyer.name}&t=${invoice.total}", Format::Form, None);
        let (b, t) = form.strip_prefix("b=").and_then(|f| f.split_once("&t=")).unwrap();
        assert_eq!(
            percent_encoding::percent_decode_str(b).decode_utf8().unwrap(),
            whole["buyer"]["name"].as_str().unwrap()
        );
        assert_eq!(t, whole["total"].as_str().unwrap());
    }

    #[test]
    fn a_missing_buyer_leaves_its_fields_empty() {
        let (body, _) =
            render_invoice("[${invoice.buyer.uscc}][${invoice.buyer.name}]", Format::Text, Some(Fault::MissingBuyer));
        assert_eq!(body, "[][]");
    }

    #[test]
    fn errors_say_where_the_placeholder_is() {
        let src = "{\n  \"a\": \"${invoice.seller.uscc}\",\n  \"b\": \"厦门${invoice.selr.uscc}\"\n}";
        let err = Template::parse_as(src, &TestScope, Format::Json).unwrap_err();
        assert_eq!(err.line_col(src), (3, 11));
        assert!(
            err.message.starts_with("unknown invoice field ${invoice.selr.uscc}; the fields are invoice.order_no, ")
        );
        assert!(
            err.message.contains("invoice.seller.uscc") && err.message.contains("invoice.lines"),
            "{}",
            err.message
        );
        assert_eq!(
            Template::parse_as("ab${index", &TestScope, Format::Json).unwrap_err().line_col("ab${index"),
            (1, 3)
        );
    }

    #[test]
    fn static_templates_are_known() {
        assert!(Template::parse("/healthz", &TestScope).unwrap().is_static());
        assert!(!Template::parse("/i/${index}", &TestScope).unwrap().is_static());
    }

    #[test]
    fn bad_placeholders_say_why() {
        let err = |s: &str| Template::parse(s, &TestScope).unwrap_err();
        assert!(err("/${nope}").contains("unknown placeholder ${nope}"));
        assert!(err("/${pool.missing}").contains("no pool missing"));
        assert!(err("/${env.UNSET_VAR}").contains("UNSET_VAR is not set"));
        assert!(err("/${index").contains("unclosed"));
    }

    #[test]
    fn env_text_takes_env_values_only() {
        let env = |name: &str| (name == "HOST").then(|| "h.example".to_string());
        let t = expand_env("http://${env.HOST}/a$$b", &env).unwrap();
        assert_eq!((t.text.as_str(), t.secrets.as_slice()), ("http://h.example/a$b", &["h.example".to_string()][..]));
        assert!(expand_env("/${env.NOPE}", &env).unwrap_err().contains("NOPE is not set"));
        assert!(expand_env("/${index}", &env).unwrap_err().contains("only ${env.NAME}"));
        assert!(expand_env("/${feeder.a.b}", &env).unwrap_err().contains("only ${env.NAME}"));
    }
}
