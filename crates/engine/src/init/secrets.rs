//! Secrets of captured requests (Authorization, Cookie, API keys, tokens in headers or
//! the query) become `${env.NAME}` placeholders: the profile never holds their values,
//! and the user is told which variables to set. A value seen twice gets one variable.

/// An environment variable a profile's placeholder reads, and what to set it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    /// What it stands for: "the token after `Bearer ` in the Authorization header".
    pub holds: String,
}

/// The variables handed out so far, each with the captured value it stands for (kept
/// in memory only, to give the same value the same variable).
#[derive(Debug, Default)]
pub(super) struct Vault {
    vars: Vec<(EnvVar, Option<String>)>,
}

/// Parts of a header or query parameter name that mark its value as a secret.
const SECRET_WORDS: [&str; 9] =
    ["auth", "token", "secret", "password", "passwd", "api-key", "apikey", "session", "signature"];

/// Query parameter names that are secrets on their own (`?key=...`, `?sig=...`).
const SECRET_PARAMS: [&str; 3] = ["key", "sig", "code"];

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase().replace('_', "-");
    name == "cookie" || SECRET_WORDS.iter().any(|w| name.contains(w))
}

impl Vault {
    /// The template value of header `name` (lowercase) if `value` is a secret. An
    /// Authorization scheme (`Bearer`, `Basic`) stays in the file; its credentials do not.
    pub fn header(&mut self, name: &str, value: &str) -> Option<String> {
        if !is_secret(name) {
            return None;
        }
        let title = title_case(name);
        if name == "authorization"
            && let Some((scheme, credentials)) = value.split_once(' ')
            && !scheme.is_empty()
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            let base = match scheme.to_ascii_lowercase().as_str() {
                "bearer" => "TARGET_TOKEN",
                "basic" => "TARGET_AUTH",
                _ => "TARGET_AUTHORIZATION",
            };
            let holds = format!("the credentials after \"{scheme} \" in the {title} header");
            let var = self.var(base, holds, Some(credentials.trim_start()));
            return Some(format!("{} ${{env.{var}}}", super::capture::escape(scheme)));
        }
        let base = format!("TARGET_{}", env_name(name));
        Some(format!("${{env.{}}}", self.var(&base, format!("the {title} header's value"), Some(value))))
    }

    /// `Basic ${env.TARGET_AUTH}` for credentials given apart from any header (curl -u,
    /// `user:password@` in the URL, which a profile's target cannot hold).
    pub fn basic_auth(&mut self) -> String {
        let holds = "user:password, base64-encoded (printf %s 'user:password' | base64)".to_string();
        format!("Basic ${{env.{}}}", self.var("TARGET_AUTH", holds, None))
    }

    /// Path and query as template text, secret query parameters as placeholders.
    pub fn query(&mut self, path: &str) -> String {
        let Some((route, query)) = path.split_once('?') else { return super::capture::escape(path) };
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, value))
                    if is_secret(name) || SECRET_PARAMS.iter().any(|p| name.eq_ignore_ascii_case(p)) =>
                {
                    let holds = format!("the value of the query parameter {name} (as sent, %-decoded)");
                    let var = self.var(&format!("TARGET_{}", env_name(name)), holds, Some(value));
                    format!("{}=${{env.{var}}}", super::capture::escape(name))
                }
                _ => super::capture::escape(param),
            })
            .collect();
        format!("{}?{}", super::capture::escape(route), params.join("&"))
    }

    /// The variable for `value`: the one it already has, else `base` (or `base_2` ...).
    fn var(&mut self, base: &str, holds: String, value: Option<&str>) -> String {
        let same = |(v, seen): &(EnvVar, Option<String>)| {
            (v.name == base || v.name.starts_with(&format!("{base}_"))) && seen.as_deref() == value
        };
        if let Some((v, _)) = self.vars.iter().find(|e| same(e)) {
            return v.name.clone();
        }
        let taken = |n: &str| self.vars.iter().any(|(v, _)| v.name == n);
        let name = (1..)
            .map(|i| if i == 1 { base.to_string() } else { format!("{base}_{i}") })
            .find(|n| !taken(n))
            .unwrap_or_default();
        self.vars.push((EnvVar { name: name.clone(), holds }, value.map(str::to_string)));
        name
    }

    pub fn into_vars(self) -> Vec<EnvVar> {
        self.vars.into_iter().map(|(v, _)| v).collect()
    }
}

/// `x-api-key` -> `X_API_KEY`.
fn env_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// `x-api-key` -> `X-Api-Key`, as people write header names.
fn title_case(name: &str) -> String {
    let words: Vec<String> = name
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    words.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_become_placeholders_and_the_scheme_stays() {
        let mut v = Vault::default();
        assert_eq!(v.header("authorization", "Bearer abc.def").unwrap(), "Bearer ${env.TARGET_TOKEN}");
        assert_eq!(v.header("cookie", "sid=1; theme=dark").unwrap(), "${env.TARGET_COOKIE}");
        assert_eq!(v.header("x-api-key", "k-123").unwrap(), "${env.TARGET_X_API_KEY}");
        assert_eq!(v.header("accept", "application/json"), None);
        let vars = v.into_vars();
        assert_eq!(
            vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
            ["TARGET_TOKEN", "TARGET_COOKIE", "TARGET_X_API_KEY"]
        );
        assert!(vars[0].holds.contains("after \"Bearer \" in the Authorization header"), "{:?}", vars[0]);
    }

    #[test]
    fn one_value_one_variable() {
        let mut v = Vault::default();
        let a = v.header("x-auth-token", "one").unwrap();
        assert_eq!(v.header("x-auth-token", "one").unwrap(), a);
        assert_eq!(v.header("x-auth-token", "two").unwrap(), "${env.TARGET_X_AUTH_TOKEN_2}");
        assert_eq!(v.into_vars().len(), 2);
    }

    #[test]
    fn secret_query_parameters_become_placeholders() {
        let mut v = Vault::default();
        assert_eq!(
            v.query("/a?page=2&access_token=s3cret&key=k"),
            "/a?page=2&access_token=${env.TARGET_ACCESS_TOKEN}&key=${env.TARGET_KEY}"
        );
        assert_eq!(v.query("/price/$5"), "/price/$$5");
    }
}
