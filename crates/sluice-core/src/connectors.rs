//! Services outside Sluice that dataflows may call (Execute API call), declared by the
//! operator, never by a component file: a dataflow names a connector, and only a path under
//! the connector's base URL, so no model value can send a request anywhere else.
//!
//! A connectors file (`sluice serve --connectors FILE`, `SLUICE_CONNECTORS`) is a JSON object:
//!
//! ```json
//! {"sms": {"baseUrl": "https://sms.example.com/api/",
//!          "headers": {"Authorization": {"env": "SMS_TOKEN", "prefix": "Bearer "}, "X-Client": {"value": "sluice"}},
//!          "timeout": "10s", "retry": {"attempts": 3, "delay": "1s"}, "maxResponseBytes": 1048576}}
//! ```
//!
//! A header's secret comes from the environment when the file is read; the file holds only
//! the variable's name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::component::Retry;
use crate::duration::DurationSetting;
use crate::resilience::{CallError, OutsideCalls};

/// The longest answer read unless a connector says otherwise (1 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;
/// How long one call may take unless a connector says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Read.
    Get,
    /// Create or act (the default).
    #[default]
    Post,
    /// Replace.
    Put,
    /// Remove.
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// A declared service.
#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    /// The name dataflows call it by.
    pub name: String,
    /// Every request goes under it (ends with `/`).
    pub base_url: String,
    /// Headers sent with every request (secrets resolved).
    pub headers: Vec<(String, String)>,
    /// Tries, waits and the timeout of one try.
    pub calls: OutsideCalls,
    /// The longest answer read, in bytes.
    pub max_response_bytes: usize,
}

impl Connector {
    /// The URL of `path` (relative, checked by [`relative_path`]) under the base URL.
    pub fn url_of(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path.trim_start_matches('/'))
    }
}

/// Why a path cannot go under a base URL: it must stay beneath it.
pub fn relative_path(path: &str) -> Result<(), String> {
    let escapes = path.contains("://")
        || path.starts_with("//")
        || path.split(['/', '?', '#']).any(|segment| segment == ".." || segment == ".")
        || path.chars().any(|c| c.is_control() || c == '\\' || c == ' ')
        || path.contains('#');
    if escapes { Err(format!("\"{path}\" is not a path under the connector's base URL")) } else { Ok(()) }
}

/// A request to a connector.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The path under the base URL.
    pub path: String,
    /// Query parameters (encoded when sent).
    pub query: Vec<(String, String)>,
    /// The JSON body.
    pub body: Option<Value>,
}

/// A connector's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body: JSON when it is, else its text.
    pub body: Value,
}

/// Sends requests to connectors (ureq in `sluice-delivery`; a mock in `sluice test`).
pub trait ApiClient: Send + Sync {
    /// Sends one request; a 2xx answer is `Ok`, a 429 or 5xx one or no answer is
    /// [`CallError::Passing`], any other answer [`CallError::Lasting`].
    fn call(&self, connector: &Connector, request: &ApiRequest) -> Result<ApiResponse, CallError>;
}

/// The declared connectors and the client that calls them.
#[derive(Clone)]
pub struct Connectors {
    declared: BTreeMap<String, Arc<Connector>>,
    client: Arc<dyn ApiClient>,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connectors").field("declared", &self.declared.keys().collect::<Vec<_>>()).finish()
    }
}

/// No client: every call fails, saying none is configured.
struct NoClient;

impl ApiClient for NoClient {
    fn call(&self, connector: &Connector, _: &ApiRequest) -> Result<ApiResponse, CallError> {
        Err(CallError::Lasting(format!("connector {} has no HTTP client here", connector.name)))
    }
}

impl Default for Connectors {
    fn default() -> Self {
        Connectors { declared: BTreeMap::new(), client: Arc::new(NoClient) }
    }
}

impl Connectors {
    /// `declared`, called through `client`.
    pub fn new(declared: Vec<Connector>, client: Arc<dyn ApiClient>) -> Self {
        Connectors { declared: declared.into_iter().map(|c| (c.name.clone(), Arc::new(c))).collect(), client }
    }

    /// The connector named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Connector>> {
        self.declared.get(name)
    }

    /// The names declared.
    pub fn names(&self) -> Vec<&str> {
        self.declared.keys().map(String::as_str).collect()
    }

    /// The client.
    pub fn client(&self) -> &Arc<dyn ApiClient> {
        &self.client
    }
}

/// One connector as its file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConnectorSpec {
    base_url: String,
    #[serde(default)]
    headers: BTreeMap<String, HeaderSpec>,
    #[serde(default)]
    timeout: Option<DurationSetting>,
    #[serde(default)]
    retry: Option<Retry>,
    #[serde(default)]
    max_response_bytes: Option<usize>,
}

/// A header's value: written out, or read from an environment variable (with a prefix).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, untagged)]
enum HeaderSpec {
    Value {
        value: String,
    },
    Env {
        env: String,
        #[serde(default)]
        prefix: String,
    },
}

/// Reads a connectors file; `env` gives environment variables. Every problem is listed.
pub fn parse_connectors(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Vec<Connector>, Vec<String>> {
    let specs: BTreeMap<String, ConnectorSpec> =
        serde_json::from_str(text).map_err(|e| vec![format!("{}:{}: {e}", e.line(), e.column())])?;
    let mut problems = Vec::new();
    let mut connectors = Vec::new();
    for (name, spec) in specs {
        let mut fail = |what: String| problems.push(format!("connector \"{name}\": {what}"));
        let base = spec.base_url.trim();
        if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains('?') || base.contains('#') {
            fail(format!("baseUrl must be an http:// or https:// URL without query, not \"{base}\""));
        }
        let mut headers = Vec::new();
        for (header, value) in &spec.headers {
            let valid_name =
                !header.is_empty() && header.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
            if !valid_name {
                fail(format!("\"{header}\" is not a header name"));
            }
            match value {
                HeaderSpec::Value { value } => headers.push((header.clone(), value.clone())),
                HeaderSpec::Env { env: var, prefix } => match env(var) {
                    Some(secret) if !secret.is_empty() => headers.push((header.clone(), format!("{prefix}{secret}"))),
                    _ => fail(format!("header {header} reads the environment variable {var}, which is not set")),
                },
            }
        }
        let calls = OutsideCalls::from_settings(spec.retry.as_ref(), spec.timeout.as_ref(), Some(DEFAULT_TIMEOUT))
            .unwrap_or_else(|problems| {
                problems.into_iter().for_each(|p| fail(format!("{}: {} ({})", p.key, p.message, p.hint)));
                OutsideCalls::default()
            });
        let base_url = if base.ends_with('/') { base.to_owned() } else { format!("{base}/") };
        connectors.push(Connector {
            name,
            base_url,
            headers,
            calls,
            max_response_bytes: spec.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
        });
    }
    if problems.is_empty() { Ok(connectors) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_declares_connectors_with_secrets_from_the_environment() {
        let text = r#"{"sms": {"baseUrl": "https://sms.example.com/api", "timeout": "5s",
            "headers": {"Authorization": {"env": "SMS_TOKEN", "prefix": "Bearer "}, "X-Client": {"value": "sluice"}},
            "retry": {"attempts": 3, "delay": "250ms"}}}"#;
        let env = |var: &str| (var == "SMS_TOKEN").then(|| "s3cret".to_owned());
        let sms = parse_connectors(text, env).unwrap().remove(0);
        assert_eq!(sms.base_url, "https://sms.example.com/api/");
        assert_eq!(sms.url_of("/send"), "https://sms.example.com/api/send");
        assert_eq!(
            sms.headers,
            [("Authorization".into(), "Bearer s3cret".into()), ("X-Client".into(), "sluice".into())]
        );
        assert_eq!(
            sms.calls,
            OutsideCalls { attempts: 3, delay: Duration::from_millis(250), timeout: Some(Duration::from_secs(5)) }
        );
        let unset = parse_connectors(text, |_| None).unwrap_err();
        assert_eq!(
            unset,
            ["connector \"sms\": header Authorization reads the environment variable SMS_TOKEN, which is not set"]
        );
        let bad = parse_connectors(r#"{"x": {"baseUrl": "ftp://x"}}"#, |_| None).unwrap_err();
        assert!(bad[0].contains("baseUrl must be an http:// or https:// URL"), "{bad:?}");
        assert!(parse_connectors(r#"{"x": {"baseUrl": "https://x", "token": 1}}"#, |_| None).is_err());
    }

    #[test]
    fn a_path_stays_under_the_base_url() {
        for good in ["send", "/v1/messages", "users/42?x=1"] {
            assert_eq!(relative_path(good), Ok(()), "{good}");
        }
        for bad in ["https://evil.example/", "//evil.example/x", "../admin", "a/../../b", "a/./b", "a b", "a\\b", "x#y"]
        {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }
}
