//! `${env.*}` values are secrets (tokens, passwords): whatever the driver logs about a
//! rendered request shows them masked, as written and as percent-encoded into a path.

use einv_workload::template::path_encoded;

use crate::profile::Op;

/// Every form in which a run's `${env.*}` values can appear in a rendered request.
#[derive(Debug, Default, Clone)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// The `${env.*}` values of `ops`' templates.
    pub fn of(ops: &[Op]) -> Secrets {
        let mut forms: Vec<String> = ops
            .iter()
            .filter_map(|op| op.template.as_ref())
            .flat_map(|t| t.env_values())
            .filter(|v| !v.is_empty())
            .flat_map(|v| [v.to_string(), path_encoded(v)])
            .collect();
        // Longest first, so that a secret containing a shorter one is masked whole.
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Secrets(forms)
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
        let secrets = Secrets(vec!["s3cr et/+".into(), path_encoded("s3cr et/+")]);
        let logged = "/api/s3cr%20et%2F%2B/x and s3cr et/+ again";
        assert_eq!(secrets.mask(logged), "/api/***/x and *** again");
    }
}
