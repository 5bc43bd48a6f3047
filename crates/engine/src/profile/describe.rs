//! A plan in words, for `einv-load validate`: what a run of it would do.

use einv_report::{Limit, Limits, SloSpec, Unit};

use super::{Endpoint, Plan, Protocol};

impl Plan {
    /// Labelled lines: ("name", ...), ("target", ...), the built-in target's model, ("load",
    /// ...), one ("op", ...) per op and ("slo", ...) per scope of the SLO.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![("name", self.name.clone())];
        if let Some(d) = &self.description {
            lines.push(("about", d.clone()));
        }
        let spec = &self.model.spec;
        let target = match &self.target.endpoint {
            Endpoint::Builtin { tls } if !spec.resources.is_empty() => {
                format!("builtin{}", if *tls { " over TLS" } else { "" })
            }
            Endpoint::Builtin { tls } => format!(
                "builtin{} (pool {}, acquire timeout {:?})",
                if *tls { " over TLS" } else { "" },
                spec.pool_size,
                spec.acquire_timeout
            ),
            Endpoint::Http(u) => u.display(),
        };
        let t = &self.target;
        let streams = match t.protocol {
            Protocol::Http2 => format!(", HTTP/2 with up to {} streams each", t.streams()),
            Protocol::Auto if t.endpoint.tls() => {
                format!(", HTTP/2 with up to {} streams each if ALPN agrees", t.h2_streams())
            }
            Protocol::Auto => ", HTTP/1.1 (auto in the clear)".into(),
            Protocol::Http1 => String::new(),
        };
        lines.push(("target", format!("{target}, {} connections{streams}", t.connections)));
        let h2_possible = t.protocol == Protocol::Http2 || (t.protocol == Protocol::Auto && t.endpoint.tls());
        if t.max_streams.is_some() && !h2_possible {
            let why = "target.max-streams is ignored: only HTTP/2 (protocol = \"http2\", or \"auto\" over TLS) carries several requests at once";
            lines.push(("note", why.into()));
        }
        if self.target.endpoint.tls() {
            lines.push(("tls", self.tls_line()));
        }
        if self.model.written || matches!(self.target.endpoint, Endpoint::Builtin { .. }) {
            lines.extend(spec.describe());
            lines.push(("capacity", self.capacity_line()));
        } else {
            lines.push((
                "model",
                "none written: `simulate` models the defaults (write [model] to describe the service)".into(),
            ));
        }
        let length = humantime::format_duration(self.load.duration());
        lines.push(("load", format!("{} loop, {length}", self.load.mode())));
        let total: u32 = self.ops.iter().map(|o| o.weight).sum();
        for op in &self.ops {
            let share = f64::from(op.weight) / f64::from(total.max(1)) * 100.0;
            let body = op.body_file.as_ref().map(|(file, f)| format!(", body {file} ({})", f.as_str()));
            let line =
                format!("{:<16} {:>5.1}%  {} {}{}", op.name, share, op.method, op.path, body.unwrap_or_default());
            lines.push(("op", line));
        }
        lines.extend(slo_lines(&self.slo).into_iter().map(|l| ("slo", l)));
        lines.extend(self.shards_line().map(|l| ("shards", l)));
        lines
    }

    /// What each resource of the model serves of the mix, the tightest first: the one
    /// that runs dry first as the rate grows.
    fn capacity_line(&self) -> String {
        let mut all = crate::model_run::capacity(self, &self.model.spec).resources;
        all.sort_by(|a, b| a.1.total_cmp(&b.1));
        let words: Vec<String> = all
            .iter()
            .enumerate()
            .map(|(i, (name, per_s))| {
                let first = if i == 0 { " (runs dry first)" } else { "" };
                match per_s.is_finite() {
                    true => format!("{name} {per_s:.0}/s{first}"),
                    false => format!("{name} unused"),
                }
            })
            .collect();
        format!("of this mix: {}", words.join(", "))
    }

    /// Which certificates are trusted, and whether sessions resume.
    fn tls_line(&self) -> String {
        let t = &self.target.tls;
        let trust = match (&t.ca_file, t.insecure) {
            (_, true) => "NOT CHECKED (tls-insecure; test rigs only)".to_string(),
            (Some(f), _) => format!("system roots + {}", f.display()),
            (None, _) if matches!(self.target.endpoint, Endpoint::Builtin { .. }) => {
                "the built-in target's own, made at start".into()
            }
            (None, _) => "system roots".into(),
        };
        let resumption = if t.resumption { "on" } else { "off (every connection a full handshake)" };
        format!("certificate: {trust}; session resumption {resumption}")
    }
}

/// The profile's SLO in words, one line per scope and one for abort-on-fail.
fn slo_lines(slo: &SloSpec) -> Vec<String> {
    let limits = |s: &Limits| {
        let value = |unit, limit| match (unit, limit) {
            (_, Limit::Time(d)) => humantime::format_duration(d).to_string(),
            (Unit::Ratio, Limit::Value(r)) => format!("{}%", r * 100.0),
            (Unit::PerSecond, Limit::Value(r)) => format!("{r}/s"),
            (Unit::Ms, Limit::Value(ms)) => format!("{ms} ms"),
        };
        let out: Vec<String> =
            s.iter().map(|(m, l)| format!("{} {} {}", m.figure(), m.bound().symbol(), value(m.unit(), l))).collect();
        out.join(", ")
    };
    let mut lines = Vec::new();
    let overall = limits(&slo.overall);
    if !overall.is_empty() {
        lines.push(format!("overall: {overall}"));
    }
    lines.extend(slo.ops.iter().map(|(name, s)| format!("{name}: {}", limits(s))));
    if let Some(grace) = slo.abort_after {
        let grace = humantime::format_duration(grace);
        lines.push(format!("abort-on-fail: after {grace}, stop the run once a check fails on the run so far"));
    }
    lines
}
