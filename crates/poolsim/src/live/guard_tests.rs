//! The built-in target holds against clients that try to knock it over, and forgets what
//! has left the ledger's window. Each test makes its limit small, then checks *what* the
//! server does, not when.

use std::time::Duration;

use super::Server;
use super::test_client::{exchange, request};
use super::validate::tests::GOOD;
use crate::{Hold, ModelSpec, ServerLimits};

const INVOICES: &str = "/api/v1/invoices";

fn start(limits: ServerLimits) -> Server {
    let holds = std::array::from_fn(|_| Hold::Constant(Duration::ZERO));
    Server::start(ModelSpec { holds, limits, ..ModelSpec::default() }, "127.0.0.1:0".parse().unwrap(), 1).unwrap()
}

fn limits() -> ServerLimits {
    ServerLimits::default()
}

/// The ledger's window over HTTP: what left it is archived (410), and its order number is
/// a new order; what is in it answers as before.
#[test]
fn an_invoice_older_than_the_window_is_archived() {
    let server = start(ServerLimits { ledger_window: 2, ..limits() });
    let send = |method: &str, path: &str, body: &str| exchange(server.addr(), &request(method, path, body, true));
    let issue = |order: &str| send("POST", INVOICES, &GOOD.replace("\"A1\"", &format!("\"{order}\"")));
    let no = |answer: &str| answer.split("\"invoice_no\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let first = no(&issue("O1"));
    issue("O2");
    let third = no(&issue("O3"));
    for (method, path) in [("GET", ""), ("POST", "/red-flush"), ("GET", "/pdf")] {
        let answer = send(method, &format!("{INVOICES}/{first}{path}"), "");
        assert!(answer.starts_with("HTTP/1.1 410") && answer.contains("E410"), "{method} {path}: {answer}");
    }
    assert!(send("GET", &format!("{INVOICES}/{third}"), "").contains("\"status\":\"issued\""));
    let again = issue("O3");
    assert!(again.contains(&third) && again.contains("\"duplicate\":true"), "{again}");
    let renewed = issue("O1");
    assert!(renewed.starts_with("HTTP/1.1 200") && !renewed.contains("duplicate"), "{renewed}");
    assert_ne!(no(&renewed), first, "a forgotten order number is a new order");
}
