//! Calls to the operator's connectors (Execute API call), as JSON over HTTP through ureq.

use std::io::Read;

use serde_json::Value;
use sluice_core::connectors::{ApiClient, ApiRequest, ApiResponse, Connector, Method};
use sluice_core::resilience::CallError;

/// The HTTP client of the connectors: one agent, each call bounded by its connector's timeout
/// and answer size.
#[derive(Debug, Clone)]
pub struct HttpApi {
    agent: ureq::Agent,
}

impl Default for HttpApi {
    fn default() -> Self {
        // Statuses are read, not turned into errors; redirects are not followed (a connector's
        // answer may not send a request elsewhere).
        let config = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build();
        HttpApi { agent: ureq::Agent::new_with_config(config) }
    }
}

/// `builder` with the connector's headers, the call's query and the connector's timeout.
fn prepared<B>(
    builder: ureq::RequestBuilder<B>,
    connector: &Connector,
    request: &ApiRequest,
    timeout: std::time::Duration,
) -> ureq::RequestBuilder<B> {
    let mut builder = builder.config().timeout_global(Some(timeout)).build();
    for (name, value) in &connector.headers {
        builder = builder.header(name, value);
    }
    builder.query_pairs(request.query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

impl ApiClient for HttpApi {
    fn call(&self, connector: &Connector, request: &ApiRequest) -> Result<ApiResponse, CallError> {
        let url = connector.url_of(&request.path);
        let timeout = connector.calls.timeout.unwrap_or(sluice_core::connectors::DEFAULT_TIMEOUT);
        let body = || request.body.clone().unwrap_or(Value::Null);
        let sent = match request.method {
            Method::Get => prepared(self.agent.get(&url), connector, request, timeout).call(),
            Method::Delete => prepared(self.agent.delete(&url), connector, request, timeout).call(),
            Method::Post => prepared(self.agent.post(&url), connector, request, timeout).send_json(body()),
            Method::Put => prepared(self.agent.put(&url), connector, request, timeout).send_json(body()),
        };
        let mut response = sent.map_err(|e| CallError::Passing(format!("{} {url}: {e}", request.method.name())))?;
        let status = response.status().as_u16();
        let mut text = String::new();
        let limit = u64::try_from(connector.max_response_bytes).unwrap_or(u64::MAX);
        let mut reader = response.body_mut().as_reader().take(limit + 1);
        reader.read_to_string(&mut text).map_err(|e| {
            CallError::Passing(format!("{} {url}: the answer could not be read: {e}", request.method.name()))
        })?;
        if text.len() as u64 > limit {
            return Err(CallError::Lasting(format!(
                "{} {url}: the answer is longer than the connector's {} bytes",
                request.method.name(),
                connector.max_response_bytes
            )));
        }
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        match status {
            200..=299 => Ok(ApiResponse { status, body }),
            429 | 500..=599 => Err(CallError::Passing(format!("{} {url} answered {status}", request.method.name()))),
            _ => {
                Err(CallError::Lasting(format!("{} {url} answered {status}: {}", request.method.name(), short(&body))))
            }
        }
    }
}

/// An answer's body, cut short for a message.
fn short(body: &Value) -> String {
    let text = match body {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 200 { format!("{}…", text.chars().take(200).collect::<String>()) } else { text }
}
