//! The service's own operations, as a profile names them: each with the route the live
//! target knows it by (method and path template, placeholders as wildcards), what it does
//! to the service (its hold), and what it answers. Both engines take an op's model from
//! here, the simulator by the op's index in the mix and the live target by its route, so
//! they agree on every op.

use std::fmt::Write as _;

use crate::{Hold, Operation};

/// One op of the profile's mix, as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOp {
    /// The op's name in the profile.
    pub name: String,
    /// The request it is: the live target routes by this.
    pub route: Route,
    /// How long it holds a pool connection.
    pub hold: Hold,
    /// What the live target answers it with; `None`: the invoice API's own answer when the
    /// route is one of its six, else a JSON echo with an id ([`Response::echo`]).
    pub response: Option<Response>,
    /// Its steps (`steps = [...]`); `None`: the default steps for `hold`
    /// ([`crate::ModelSpec::default_steps`]).
    pub steps: Option<Vec<crate::Step>>,
    /// True when the profile gave the op neither a hold nor steps: it holds the default
    /// ([`Operation::default_for`]).
    pub defaulted: bool,
}

/// A method and a path template: literal text and wildcards, each wildcard a
/// `${...}` placeholder of the profile's path (any run of characters but `/`). The query
/// is not part of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Any,
}

impl Route {
    /// The route of an op sent as `method` to `template` (a profile's path: `""` is the
    /// target's root, `$$` a literal `$`, anything after `?` the query).
    pub fn new(method: &str, template: &str) -> Route {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = template.split('?').next().unwrap_or_default();
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(more) = after.strip_prefix('$') {
                literal.push('$');
                rest = more;
            } else if let Some(end) = after.strip_prefix('{').and_then(|p| p.find('}')) {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
                parts.push(Part::Any);
                rest = &after[end + 2..];
            } else {
                literal.push('$');
                rest = after;
            }
        }
        literal.push_str(rest);
        parts.push(Part::Literal(literal));
        parts.retain(|p| !matches!(p, Part::Literal(l) if l.is_empty()));
        if parts.is_empty() {
            parts.push(Part::Literal("/".into()));
        }
        Route { method: method.to_ascii_uppercase(), parts }
    }

    /// Whether a request `method path` (the path without its query) is this route's.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && glob(&self.parts, path)
    }

    /// Characters of literal text: of two routes that match a request, the one with more
    /// is the more specific.
    pub fn specificity(&self) -> usize {
        self.parts.iter().map(|p| if let Part::Literal(l) = p { l.len() } else { 0 }).sum()
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ", self.method)?;
        self.parts.iter().try_for_each(|p| match p {
            Part::Literal(l) => f.write_str(l),
            Part::Any => f.write_char('*'),
        })
    }
}

/// `parts` match all of `path`; a wildcard takes as few characters as it can, none of them `/`.
fn glob(parts: &[Part], path: &str) -> bool {
    match parts.split_first() {
        None => path.is_empty(),
        Some((Part::Literal(l), rest)) => path.strip_prefix(l.as_str()).is_some_and(|p| glob(rest, p)),
        Some((Part::Any, rest)) => {
            let segment = path.find('/').unwrap_or(path.len());
            (0..=segment).any(|n| path.is_char_boundary(n) && glob(rest, &path[n..]))
        }
    }
}

/// The answer of an op: a status and a body template whose `${id}` is a number unique to
/// the answer (so that a later op can `extract` it) and `${op}` the op's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    parts: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Id,
    Op,
}

impl Response {
    /// A body template answered with `status`; an unknown placeholder is an error that
    /// names it and the two there are.
    pub fn parse(status: u16, template: &str) -> Result<Response, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(at) = rest.find('$') {
            text.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(more) = after.strip_prefix('$') {
                text.push('$');
                rest = more;
                continue;
            }
            let Some(end) = after.strip_prefix('{').and_then(|p| p.find('}')) else {
                text.push('$');
                rest = after;
                continue;
            };
            let piece = match &after[1..end + 1] {
                "id" => Piece::Id,
                "op" => Piece::Op,
                other => {
                    return Err(format!(
                        "unknown placeholder ${{{other}}}: a model response knows ${{id}} (a number unique to the \
                         answer) and ${{op}} (the op's name); write $$ for a literal $"
                    ));
                }
            };
            parts.push(Piece::Text(std::mem::take(&mut text)));
            parts.push(piece);
            rest = &after[end + 2..];
        }
        text.push_str(rest);
        parts.push(Piece::Text(text));
        parts.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
        let content_type = match template.trim_start().as_bytes().first() {
            Some(b'{' | b'[') => "application/json",
            Some(b'<') => "application/xml",
            _ => "text/plain; charset=utf-8",
        };
        Ok(Response { status, content_type, parts })
    }

    /// The default answer: `{"id":"${id}","op":"${op}"}`, status 200.
    pub fn echo() -> Response {
        Response::parse(200, r#"{"id":"${id}","op":"${op}"}"#).unwrap_or_else(|_| unreachable!("a valid template"))
    }

    /// The body for answer number `id` of op `op` (a name of letters, digits, - and _,
    /// so it needs no escaping in JSON or XML).
    pub fn render(&self, id: u64, op: &str) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Id => {
                    let _ = write!(out, "{id}");
                }
                Piece::Op => out.push_str(op),
            }
        }
        out
    }
}

impl Operation {
    /// The invoice operation an op of this name is, when it is one of the six (with the
    /// spellings profiles use): its hold key sets the op's default hold.
    pub fn for_name(name: &str) -> Option<Operation> {
        Some(match name {
            "issue" => Operation::Issue,
            "query" => Operation::Query,
            "red_flush" | "red-flush" => Operation::RedFlush,
            "verify_taxpayer" | "verify-taxpayer" | "verify" => Operation::VerifyTaxpayer,
            "download" => Operation::Download,
            "payment_callback" | "payment-callback" | "callback" => Operation::PaymentCallback,
            _ => return None,
        })
    }

    /// The hold of an op without a `[model.ops.NAME]` entry: the invoice operation of its
    /// name, and any other name a read, like a query (`query-hold`, 5 ms unless set).
    pub fn default_for(name: &str) -> Operation {
        Operation::for_name(name).unwrap_or(Operation::Query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_their_templates_with_placeholders_as_one_segment() {
        let r = Route::new("get", "/api/v1/orders/${order_id}/items?page=${page}");
        assert!(r.matches("GET", "/api/v1/orders/A-17/items"));
        assert!(!r.matches("POST", "/api/v1/orders/A-17/items"), "the method is part of the route");
        assert!(!r.matches("GET", "/api/v1/orders/A/17/items"), "a placeholder is one path segment");
        assert!(!r.matches("GET", "/api/v1/orders/A-17/items/x"));
        assert!(Route::new("GET", "").matches("GET", "/"), "\"\" is the root");
        let joined = Route::new("GET", "/x/${a}-${b}.json");
        assert!(joined.matches("GET", "/x/1-2.json") && !joined.matches("GET", "/x/12.json/"));
        assert!(Route::new("GET", "/price/$$${n}").matches("GET", "/price/$5"));
        assert_eq!(joined.to_string(), "GET /x/*-*.json");
        assert!(Route::new("GET", "/a/b").specificity() > Route::new("GET", "/a/${x}").specificity());
    }

    #[test]
    fn responses_render_ids_and_refuse_unknown_placeholders() {
        let r = Response::parse(201, r#"{"order":"${id}","by":"${op}","cost":"$$3"}"#).unwrap();
        assert_eq!(r.render(42, "place"), r#"{"order":"42","by":"place","cost":"$3"}"#);
        assert_eq!(r.content_type, "application/json");
        assert_eq!(Response::echo().render(7, "get"), r#"{"id":"7","op":"get"}"#);
        assert_eq!(Response::parse(200, "<ok/>").unwrap().content_type, "application/xml");
        let e = Response::parse(200, "${invoice_no}").unwrap_err();
        assert!(e.contains("${invoice_no}") && e.contains("${id}"), "{e}");
    }

    #[test]
    fn an_op_holds_as_the_invoice_op_of_its_name_or_as_a_query() {
        assert_eq!(Operation::default_for("red-flush"), Operation::RedFlush);
        assert_eq!(Operation::default_for("get"), Operation::Query);
    }
}
