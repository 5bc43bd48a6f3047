//! Which answer a request gets: one of the profile's own ops (by its route, the most
//! specific first), the invoice API's routes, or the target's own (`/metrics`, health).

use hyper::Method;

use crate::{ModelSpec, Operation, Service, Step};

const INVOICES: &str = "/api/v1/invoices";
/// Invoice numbers are 20 digits: this prefix and a 16-digit sequence.
pub(super) const NO_PREFIX: &str = "2611";

/// A request of the invoice API. Invoice numbers that do not parse are `None` (answered 404).
pub(super) enum Invoice {
    Issue,
    Query(Option<u64>),
    RedFlush(Option<u64>),
    Download(Option<u64>),
    Verify(String),
    Callback,
}

impl Invoice {
    fn operation(&self) -> Operation {
        match self {
            Invoice::Issue => Operation::Issue,
            Invoice::Query(_) => Operation::Query,
            Invoice::RedFlush(_) => Operation::RedFlush,
            Invoice::Download(_) => Operation::Download,
            Invoice::Verify(_) => Operation::VerifyTaxpayer,
            Invoice::Callback => Operation::PaymentCallback,
        }
    }
}

/// What serves a request.
pub(super) enum Served {
    /// The invoice API (its ledger answers), holding as the profile's op of that route
    /// (its index) when the profile has one.
    Invoice(Invoice, Option<usize>),
    /// The profile's op of that index, answered with its own response (or the echo).
    Own(usize),
    Health,
    Metrics,
    NotFound,
}

impl Served {
    /// The steps the request runs; `None` for the target's own routes.
    pub(super) fn steps<'a>(&self, service: &'a Service) -> Option<&'a [Step]> {
        match self {
            Served::Invoice(_, Some(i)) | Served::Own(i) => service.ops.get(*i).map(Vec::as_slice),
            Served::Invoice(r, None) => {
                let op = Operation::ALL.iter().position(|&o| o == r.operation())?;
                service.invoice.get(op).map(Vec::as_slice)
            }
            Served::Health | Served::Metrics | Served::NotFound => None,
        }
    }
}

/// The profile's ops in the order a request is matched against them: the most specific
/// route first, of equal ones the first in the mix. Sorted once, so a request stops at the
/// first op whose route it matches.
pub(super) struct Routes(Vec<usize>);

impl Routes {
    pub(super) fn new(spec: &ModelSpec) -> Routes {
        let mut order: Vec<usize> = (0..spec.ops.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(spec.ops[i].route.specificity()), i));
        Routes(order)
    }

    /// The one mapping from a request to the model: the profile's op whose route it
    /// matches (the simulator takes the same op's model by its place in the mix).
    pub(super) fn resolve(&self, spec: &ModelSpec, method: &Method, path: &str) -> Served {
        if method == Method::GET && path == "/metrics" {
            return Served::Metrics;
        }
        let own = self.0.iter().map(|&i| (i, &spec.ops[i])).find(|(_, op)| op.route.matches(method.as_str(), path));
        match (own, invoice(method, path)) {
            (Some((i, op)), Some(route)) if op.response.is_none() => Served::Invoice(route, Some(i)),
            (Some((i, _)), _) => Served::Own(i),
            (None, Some(route)) => Served::Invoice(route, None),
            (None, None) if method == Method::GET && matches!(path, "/healthz" | "/") => Served::Health,
            (None, None) => Served::NotFound,
        }
    }
}

fn invoice(method: &Method, path: &str) -> Option<Invoice> {
    let invoice = path.strip_prefix(INVOICES).and_then(|r| r.strip_prefix('/'));
    Some(match (method, path, invoice) {
        (&Method::POST, INVOICES, _) => Invoice::Issue,
        (&Method::POST, "/api/v1/payments/callback", _) => Invoice::Callback,
        (&Method::POST, _, Some(rest)) if rest.ends_with("/red-flush") => {
            Invoice::RedFlush(parse_no(rest.trim_end_matches("/red-flush")))
        }
        (&Method::GET, _, Some(rest)) if rest.ends_with("/pdf") => {
            Invoice::Download(parse_no(rest.trim_end_matches("/pdf")))
        }
        (&Method::GET, _, Some(no)) => Invoice::Query(parse_no(no)),
        (&Method::GET, p, None) => Invoice::Verify(p.strip_prefix("/api/v1/taxpayers/")?.to_string()),
        _ => return None,
    })
}

fn parse_no(no: &str) -> Option<u64> {
    let seq = no.strip_prefix(NO_PREFIX)?;
    if seq.len() != 16 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seq.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ModelOp, Response, Route};

    fn op(name: &str, method: &str, path: &str, response: Option<Response>) -> ModelOp {
        let hold = crate::Hold::Constant(std::time::Duration::ZERO);
        ModelOp { name: name.into(), route: Route::new(method, path), hold, response, steps: None, defaulted: true }
    }

    #[test]
    fn a_request_is_served_by_the_most_specific_op_of_its_route() {
        let spec = ModelSpec {
            ops: vec![
                op("get", "GET", "", None),
                op("item", "GET", "/items/${id}", None),
                op("special", "GET", "/items/special", None),
                op("lookup", "GET", "/api/v1/invoices/${no}", None),
                op("mine", "POST", "/api/v1/invoices", Some(Response::echo())),
            ],
            ..ModelSpec::default()
        };
        let routes = Routes::new(&spec);
        let at = |m: Method, p: &str| match routes.resolve(&spec, &m, p) {
            Served::Own(i) => format!("own {}", spec.ops[i].name),
            Served::Invoice(_, Some(i)) => format!("invoice as {}", spec.ops[i].name),
            Served::Invoice(r, None) => format!("invoice {}", r.operation().as_str()),
            Served::Health => "health".into(),
            Served::Metrics => "metrics".into(),
            Served::NotFound => "404".into(),
        };
        assert_eq!(at(Method::GET, "/"), "own get", "a profile's op at the root is its, not health");
        assert_eq!(at(Method::GET, "/items/7"), "own item");
        assert_eq!(at(Method::GET, "/items/special"), "own special");
        assert_eq!(at(Method::GET, "/api/v1/invoices/26110000000000000001"), "invoice as lookup");
        assert_eq!(at(Method::POST, "/api/v1/invoices"), "own mine", "an op with a response answers itself");
        assert_eq!(at(Method::GET, "/api/v1/taxpayers/x"), "invoice verify_taxpayer");
        assert_eq!(at(Method::GET, "/metrics"), "metrics");
        assert_eq!(at(Method::DELETE, "/items/7"), "404");
    }
}
