use super::*;

fn parse(src: &str) -> Result<Plan, Error> {
    Plan::parse(src, Path::new("p.toml"))
}

const GOOD: &str = r#"schema = 1
name = "t"

[target]
url = "builtin"

[load]
[[load.stage]]
kind = "constant"
rate = 100
duration = "10s"

[[op]]
name = "issue"
method = "post"
path = "/api/v1/invoices"
"#;

#[test]
fn good_profile_validates() {
    let plan = parse(GOOD).unwrap();
    assert_eq!(plan.ops[0].method, "POST");
    assert_eq!(plan.load.duration(), Duration::from_secs(10));
    assert!(matches!(plan.target.endpoint, Endpoint::Builtin { .. }));
}

fn error_of(src: &str) -> String {
    parse(src).unwrap_err().to_string()
}

#[test]
fn errors_name_key_and_line() {
    let e = error_of(&GOOD.replace("rate = 100", "rate = -5"));
    assert_eq!(e, "p.toml:10: load.stage[0].rate: must be a rate >= 0 requests/s, got -5");
    let e = error_of(&GOOD.replace("rate = 100", "rat = 100"));
    assert!(e.starts_with("p.toml:10:"), "{e}");
    assert!(e.contains("rat"), "{e}");
    let e = error_of(&GOOD.replace("url = \"builtin\"", "url = \"ftp://x\""));
    assert!(e.starts_with("p.toml:5: target.url:"), "{e}");
}

#[test]
fn duration_override_cuts_and_extends() {
    let mut plan = parse(GOOD).unwrap();
    plan.apply(&Overrides { duration: Some(Duration::from_secs(3)), ..Default::default() }).unwrap();
    assert_eq!(plan.load.duration(), Duration::from_secs(3));
    plan.apply(&Overrides { duration: Some(Duration::from_secs(30)), rate: Some(50.0), ..Default::default() }).unwrap();
    assert_eq!(plan.load.duration(), Duration::from_secs(30));
    let Load::Open { stages, .. } = &plan.load else { panic!() };
    assert_eq!(stages, &vec![Stage::constant(50.0, Duration::from_secs(30))]);
}

#[test]
fn steps_truncate_keeps_whole_steps_and_rates() {
    let stages = [Stage::Steps { from: 100.0, to: 400.0, steps: 4, step: Duration::from_secs(10) }];
    let cut = fit_stages(&stages, Duration::from_secs(25));
    assert_eq!(
        cut,
        vec![
            Stage::Steps { from: 100.0, to: 200.0, steps: 2, step: Duration::from_secs(10) },
            Stage::constant(300.0, Duration::from_secs(5)),
        ]
    );
}

#[test]
fn double_dollar_is_a_dollar_in_static_paths_and_bodies() {
    let src = GOOD.replace("path = \"/api/v1/invoices\"", "path = \"/api/v1/invoices/$$1\"\nbody = \"cost $$5\"");
    let plan = parse(&src).unwrap();
    assert_eq!(plan.ops[0].path, "/api/v1/invoices/$1");
    assert_eq!(&plan.ops[0].body[..], b"cost $5");
    assert!(plan.ops[0].template.is_none(), "no placeholders: sent as a static request");
}

#[test]
fn templated_paths_must_be_paths_whatever_their_values() {
    let src = GOOD.replace("path = \"/api/v1/invoices\"", "path = \"/q?a=b c&i=${index}\"");
    let e = parse(&src).unwrap_err().to_string();
    assert!(e.contains("op[0].path"), "{e}");
}

#[test]
fn slo_limits_per_op_and_abort_rule_are_read() {
    let src = format!(
        "{GOOD}\n[slo]\np99 = \"200ms\"\nmin-rate = 90\nabort-on-fail = true\n\n[slo.ops.issue]\np50 = \"20ms\"\nerror-rate = 0.01\n"
    );
    let slo = parse(&src.replace("\"10s\"", "\"60s\"")).unwrap().slo;
    use einv_report::{Limit, Metric};
    let overall = (slo.overall.get(Metric::Percentile(einv_report::Quantile::P99)), slo.overall.get(Metric::MinRate));
    assert_eq!(overall, (Some(Limit::Time(Duration::from_millis(200))), Some(Limit::Value(90.0))));
    assert_eq!(slo.abort_after, Some(Duration::from_secs(30)), "the default grace");
    // An op's limits are limits only (no abort rule nor ops of their own): that is their type.
    let issue = &slo.ops["issue"];
    let limits: Vec<(Metric, Limit)> = issue.iter().collect();
    assert_eq!(
        limits,
        [
            (Metric::Percentile(einv_report::Quantile::P50), Limit::Time(Duration::from_millis(20))),
            (Metric::ErrorRate, Limit::Value(0.01))
        ]
    );
}

#[test]
fn the_default_grace_must_fit_in_the_run() {
    let e = error_of(&format!("{GOOD}\n[slo]\np99 = \"200ms\"\nabort-on-fail = true\n"));
    assert!(e.starts_with("p.toml:20: slo.abort-on-fail: a grace of 30s is not shorter than the run (10s)"), "{e}");
    assert!(e.ends_with("set slo.grace (default 30s)"), "{e}");
}

#[test]
fn tls_keys_parse_and_are_checked_against_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let with = |target: &str| GOOD.replace("url = \"builtin\"", target);
    let parse_in = |src: &str| Plan::parse(src, &dir.path().join("p.toml"));

    // https: port 443 by default, the host as the server name, resumption on by default.
    let plan = parse_in(&with("url = \"https://invoices.example:8443/v2/\"")).unwrap();
    let Endpoint::Http(url) = &plan.target.endpoint else { panic!() };
    assert_eq!(
        (url.authority.as_str(), url.base_path.as_str(), url.host(), url.tls),
        ("invoices.example:8443", "/v2", "invoices.example", true)
    );
    assert!(plan.target.tls.resumption && !plan.target.tls.insecure && plan.target.tls.ca.is_empty());
    let plan = parse_in(&with("url = \"https://[::1]\"\ntls-resumption = false")).unwrap();
    let Endpoint::Http(url) = &plan.target.endpoint else { panic!() };
    assert_eq!((url.authority.as_str(), url.host()), ("[::1]:443", "::1"));
    assert!(!plan.target.tls.resumption);

    // tls-ca is read relative to the profile, and must hold a certificate.
    let pem = a_certificate_pem();
    std::fs::write(dir.path().join("ca.pem"), pem).unwrap();
    let plan = parse_in(&with("url = \"https://localhost:9\"\ntls-ca = \"ca.pem\"")).unwrap();
    assert_eq!(plan.target.tls.ca.len(), 1);
    assert_eq!(plan.target.tls.ca_file.as_deref(), Some(dir.path().join("ca.pem").as_path()));
    std::fs::write(dir.path().join("empty.pem"), "not a certificate\n").unwrap();
    let e = parse_in(&with("url = \"https://localhost:9\"\ntls-ca = \"empty.pem\"")).unwrap_err().to_string();
    assert!(e.contains(":6: target.tls-ca:") && e.contains("holds no PEM certificate"), "{e}");

    // builtin+tls: the built-in target over TLS; it needs no CA and takes none.
    let plan = parse_in(&with("url = \"builtin+tls\"")).unwrap();
    assert!(matches!(plan.target.endpoint, Endpoint::Builtin { tls: true, .. }) && plan.target.endpoint.tls());
    let e = parse_in(&with("url = \"builtin+tls\"\ntls-insecure = true")).unwrap_err().to_string();
    assert!(e.contains(":6: target.tls-insecure: does not apply to \"builtin+tls\""), "{e}");
    // TLS keys on a plain target, and both tls-ca and tls-insecure, are mistakes.
    let e = parse_in(&with("url = \"builtin\"\ntls-resumption = true")).unwrap_err().to_string();
    assert!(e.contains(":6: target.tls-resumption: applies only to https://"), "{e}");
    let e = parse_in(&with("url = \"https://localhost\"\ntls-ca = \"ca.pem\"\ntls-insecure = true")).unwrap_err();
    assert!(e.to_string().contains(":7: target.tls-insecure:"), "{e}");
}

/// A real certificate (the built-in target's kind), without depending on rcgen here.
fn a_certificate_pem() -> String {
    let server =
        einv_poolsim::live::Server::start_tls(einv_poolsim::ModelSpec::default(), "127.0.0.1:0".parse().unwrap(), 1)
            .unwrap();
    let pem = server.cert_pem().unwrap().to_string();
    server.stop();
    pem
}

#[test]
fn the_builtin_targets_limits_are_read_and_default() {
    let spec = |plan: &Plan| match &plan.target.endpoint {
        Endpoint::Builtin { .. } => plan.model.spec.limits,
        Endpoint::Http(_) => panic!("builtin expected"),
    };
    assert_eq!(spec(&parse(GOOD).unwrap()), einv_poolsim::ServerLimits::default());
    let keys = "url = \"builtin\"\n[target.builtin]\nmax-body = \"64KiB\"\nmax-order-no = 32\n\
                header-timeout = \"2s\"\nidle-timeout = \"5s\"\nmax-connections = 50\nledger-window = 1000";
    let limits = spec(&parse(&GOOD.replace("url = \"builtin\"", keys)).unwrap());
    let want = einv_poolsim::ServerLimits {
        max_body: 65_536,
        max_order_no: 32,
        header_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(5),
        max_connections: Some(50),
        ledger_window: 1000,
    };
    assert_eq!(limits, want);
}

/// A tls-ca certificate the TLS client cannot trust is refused when the profile is read
/// (exit 2), not when the run sets up TLS.
#[test]
fn a_tls_ca_that_cannot_be_trusted_is_a_profile_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        .unwrap();
    let src = GOOD.replace("url = \"builtin\"", "url = \"https://localhost:9\"\ntls-ca = \"bad.pem\"");
    let e = Plan::parse(&src, &dir.path().join("p.toml")).unwrap_err().to_string();
    assert!(e.contains(":6: target.tls-ca:") && e.contains("cannot trust a certificate in it"), "{e}");
}

/// Each stage kind takes its own keys, and the schedule's rules judge their values: every
/// stage's problems come out at once, each at its own key and line.
#[test]
fn stage_problems_are_all_reported_at_their_keys() {
    let stages = "[[load.stage]]\nkind = \"constant\"\nrate = -1\nto = 5\nduration = \"1s\"\n\n\
                  [[load.stage]]\nkind = \"steps\"\nfrom = 1\nto = 2\nsteps = 0\nstep = \"1s\"\n\n\
                  [[load.stage]]\nkind = \"spike\"\nbase = 1\npeak = 2\nat = \"4s\"\nwidth = \"2s\"\nduration = \"5s\"\n";
    let src = GOOD.replace("[[load.stage]]\nkind = \"constant\"\nrate = 100\nduration = \"10s\"\n", stages);
    let e = error_of(&src);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "p.toml:10: load.stage[0].rate: must be a rate >= 0 requests/s, got -1",
            "p.toml:11: load.stage[0].to: unknown field `to`, expected `rate` or `duration`",
            "p.toml:18: load.stage[1].steps: must be from 1 to 10000, got 0",
            "p.toml:26: load.stage[2].width: the spike (at + width) must end within the stage's duration",
        ],
        "{e}"
    );
}

/// A map key is the user's text: one with brackets or dots in it is named as written, at
/// its line, not a panic (`headers = { "a[0]]" = 5 }` panicked in the key path's parser).
#[test]
fn a_bad_value_under_a_bracketed_key_is_named() {
    let e = error_of(&format!("{GOOD}headers = {{ \"a[0]]\" = 5 }}\n"));
    assert!(e.starts_with("p.toml:17: op[0].headers.a[0]]: invalid type: integer `5`"), "{e}");
    let e = error_of(&format!("{GOOD}headers = {{ \"a.b\" = 5 }}\n"));
    assert!(e.starts_with("p.toml:17: op[0].headers.a.b: invalid type: integer `5`"), "{e}");
}

/// `${pool.NAME}` and `[workload] pool-size`, the older names of `${capture.NAME}` and
/// `capture-size`, still load, into the very plan the new names give.
#[test]
fn older_capture_names_give_the_same_plan() {
    let with = |size_key: &str, placeholder: &str| {
        format!(
            "{GOOD}extract = {{ invoice_no = \"/invoice_no\" }}\n\n[[op]]\nname = \"query\"\n\
             path = \"/api/v1/invoices/${{{placeholder}.invoice_no}}\"\n\n[workload]\n{size_key} = 7\n"
        )
    };
    let new = parse(&with("capture-size", "capture")).unwrap();
    let old = parse(&with("pool-size", "pool")).unwrap();
    assert_eq!(new.workload.capture_size, 7);
    assert_eq!(new.workload.captures, ["invoice_no"]);
    // The same compiled request and workload (only the source text of the path differs).
    let compiled = |p: &Plan| format!("{:?}", (&p.ops[1].template, &p.workload));
    assert_eq!(compiled(&old), compiled(&new));
    let both = with("capture-size", "capture").replace("capture-size = 7", "capture-size = 7\npool-size = 7");
    assert!(error_of(&both).contains("workload.pool-size: is the older name of capture-size"), "{}", error_of(&both));
}

/// Any percentile is a limit key, in each way TOML lets one be written: bare (`p95`),
/// quoted (`"p99.9"`), bare and dotted (`p75.5`, which TOML reads as a table `p75`), and
/// summary.json's dotless nines (`p999`).
#[test]
fn any_percentile_key_is_a_latency_limit() {
    let src = format!(
        "{GOOD}\n[slo]\np95 = \"150ms\"\n\"p99.9\" = \"1s\"\np75.5 = \"90ms\"\n\n\
         [slo.ops.issue]\np999 = \"2s\"\n\"p99.99\" = \"3s\"\n\n[report]\npercentiles = [99.99, 50, 95]\n"
    );
    let plan = parse(&src).unwrap();
    let limits = |l: &einv_report::Limits| l.iter().map(|(m, l)| (m.name(), l.threshold())).collect::<Vec<_>>();
    let overall = [("latency p75.5", 90.0), ("latency p95", 150.0), ("latency p99.9", 1000.0)];
    assert_eq!(limits(&plan.slo.overall), overall.map(|(n, v)| (n.to_string(), v)));
    let issue = [("latency p99.9", 2000.0), ("latency p99.99", 3000.0)];
    assert_eq!(limits(&plan.slo.ops["issue"]), issue.map(|(n, v)| (n.to_string(), v)));
    let labels: Vec<String> = plan.percentiles.iter().map(|q| q.label()).collect();
    assert_eq!(labels, ["p50", "p95", "p99.99"], "listed in order");
    assert_eq!(parse(GOOD).unwrap().percentiles, einv_report::Quantile::DEFAULT, "the default list");
}

/// A key that is no percentile is named with its line, and every such key is found at once.
#[test]
fn bad_percentile_keys_name_key_and_line() {
    let src = format!(
        "{GOOD}\n[slo]\np100 = \"1s\"\np0 = \"1s\"\npabc = \"1s\"\np999 = \"1s\"\n\"p99.9\" = \"2s\"\n\
         [slo.ops.issue]\np99.x = \"1s\"\np95 = 5\n\n[report]\npercentiles = [50, 100, 99.9, 99.9]\n"
    );
    let e = error_of(&src);
    let lines: Vec<&str> = e.lines().collect();
    let expected = [
        "p.toml:19: slo.p100: `p100`: percentile 100 must be below 100 (the slowest request is `max`)",
        "p.toml:20: slo.p0: `p0`: percentile 0 must be above 0 (the fastest request is no tail)",
        "p.toml:21: slo.pabc: `pabc` is not a percentile: write p and a percent, e.g. p95 or \"p99.9\"",
        "p.toml:22: slo.p999: `p99.9` and `p999` both limit latency p99.9: write it once",
        "p.toml:25: slo.ops.issue.p99.x: `p99.x` is not a percentile: write p and a percent, e.g. p95 or \"p99.9\"",
        "p.toml:26: slo.ops.issue.p95: invalid type: integer `5`, expected a duration string such as \"200ms\"",
        "p.toml:29: report.percentiles[1]: percentile 100 must be below 100 (the slowest request is `max`)",
        "p.toml:29: report.percentiles[3]: lists p99.9 twice",
    ];
    assert_eq!(lines, expected, "{e}");
    let e = error_of(&format!("{GOOD}\n[slo]\n\"p99.\" = \"1s\"\n"));
    assert!(e.starts_with("p.toml:19: slo.") && e.contains("ends with its decimal point"), "{e}");
    let e = error_of(&format!("{GOOD}\n[report]\npercentiles = []\n"));
    assert!(e.starts_with("p.toml:19: report.percentiles: lists no percentile"), "{e}");
}

/// `--shard auto` takes what an Indexed Job's pod is told; each way it can be wrong is
/// named with the variable and what was expected.
#[test]
fn shard_auto_reads_the_jobs_index_and_the_manifests_count() {
    assert_eq!(Shard::from_vars(Some("2"), Some("3")).unwrap(), Shard::new(2, 3).unwrap());
    let e = |i, n| Shard::from_vars(i, n).unwrap_err().to_string();
    assert!(e(None, Some("3")).starts_with("--shard auto: JOB_COMPLETION_INDEX is not set"), "{}", e(None, Some("3")));
    assert!(e(Some("0"), None).starts_with("--shard auto: EINV_SHARDS is not set"));
    assert_eq!(e(Some("x1"), Some("3")), "--shard auto: JOB_COMPLETION_INDEX=\"x1\" is not a whole number");
    assert_eq!(e(Some("1"), Some("-3")), "--shard auto: EINV_SHARDS=\"-3\" is not a whole number");
    assert!(e(Some("3"), Some("3")).contains("JOB_COMPLETION_INDEX=3 is not below EINV_SHARDS=3"));
    assert!(Shard::from_vars(Some("0"), Some("0")).is_err());
    assert_eq!(Shard::from_vars(Some("1"), Some("0")).unwrap_err().verdict(), crate::Verdict::BadInput);
}
