//! `${env.*}` values are secrets (tokens, passwords, a host name): whatever einv-load
//! shows of a plan or a rendered request shows them masked, as written and as
//! percent-encoded into a path.

use einv_workload::template::path_encoded;

use crate::profile::{Endpoint, Plan};

/// Every form in which a run's `${env.*}` values can appear in a rendered request.
#[derive(Debug, Default, Clone)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// The forms of `values`.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Secrets {
        let mut forms: Vec<String> =
            values.into_iter().filter(|v| !v.is_empty()).flat_map(|v| [v.to_string(), path_encoded(v)]).collect();
        // Longest first, so that a secret containing a shorter one is masked whole.
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Secrets(forms)
    }

    /// The `${env.*}` values of a plan: its ops' templates, its URL and feeder paths.
    pub fn of(plan: &Plan) -> Secrets {
        let ops = plan.ops.iter().filter_map(|op| op.template.as_ref()).flat_map(|t| t.env_values());
        let url = match &plan.target.endpoint {
            Endpoint::Http(url) => url.secrets.as_slice(),
            Endpoint::Builtin { .. } => &[],
        };
        let feeders = plan.feeders.iter().flat_map(|f| &f.secrets);
        Secrets::new(ops.chain(url.iter().chain(feeders).map(String::as_str)))
    }

    /// `text` with every secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        self.0.iter().fold(text.to_string(), |t, secret| t.replace(secret.as_str(), "***"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_raw_and_percent_encoded() {
        let secrets = Secrets::new(["s3cr et/+"]);
        let logged = "/api/s3cr%20et%2F%2B/x and s3cr et/+ again";
        assert_eq!(secrets.mask(logged), "/api/***/x and *** again");
    }
}
