//! `einv-load generate`: the dry run a user reads before pointing a profile at a service.

use crate::{run_in_root, stderr, stdout};

fn lines(args: &[&str]) -> Vec<serde_json::Value> {
    let o = run_in_root(args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o).lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect()
}

#[test]
fn generate_writes_the_requests_a_run_would_send_deterministically() {
    let args = ["generate", "profiles/double11-peak.toml", "--count", "300"];
    let first = lines(&args);
    assert_eq!(first.len(), 300);
    assert_eq!(first, lines(&args), "the same profile and seed give the same requests");
    let other = lines(&["generate", "profiles/double11-peak.toml", "--count", "300", "--seed", "5"]);
    assert_ne!(first, other);
    let offsets: Vec<f64> = first.iter().map(|l| l["offset_ms"].as_f64().unwrap()).collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "intended send times never decrease");
    let issue = first.iter().find(|l| l["op"] == "issue" && l["tag"].is_null()).expect("an issue");
    let invoice: serde_json::Value = serde_json::from_str(issue["body"].as_str().unwrap()).unwrap();
    assert!(invoice["seller"]["tax_id"].as_str().unwrap().len() == 18);
    assert!(issue["headers"]["x-request-id"].as_str().unwrap().len() == 36, "a uuid per request");
    let verify = first.iter().find(|l| l["op"] == "verify_taxpayer").expect("a verify");
    assert!(verify["path"].as_str().unwrap().starts_with("/api/v1/taxpayers/91"), "tax id from the feeder");
    // A dry run gets no responses: queries of issued invoices are listed as skipped.
    let query = first.iter().find(|l| l["op"] == "query").expect("a query");
    assert_eq!(query["skipped"], "pool invoice_no is empty");
}

#[test]
fn generate_shards_split_the_one_schedule() {
    let all = lines(&["generate", "profiles/double11-peak.toml", "--count", "40"]);
    let even = lines(&["generate", "profiles/double11-peak.toml", "--count", "20", "--shard", "0/2"]);
    let odd = lines(&["generate", "profiles/double11-peak.toml", "--count", "20", "--shard", "1/2"]);
    let mut merged: Vec<_> = even.into_iter().chain(odd).collect();
    merged.sort_by_key(|l| l["index"].as_u64());
    // Feeder rows are a per-process stream (each shard reads its own), so the feeder's op
    // is compared without its path; everything else must be the same bytes.
    let comparable = |mut l: serde_json::Value| {
        if l["op"] == "verify_taxpayer" {
            l["path"] = serde_json::Value::Null;
        }
        l
    };
    let merged: Vec<_> = merged.into_iter().map(comparable).collect();
    let all: Vec<_> = all.into_iter().map(comparable).collect();
    assert!(merged == all, "shard i of n must render exactly the arrivals k with k mod n = i");
}
