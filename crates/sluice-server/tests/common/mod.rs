//! A `sluice serve` router on a real loopback socket, for the integration tests.

#![allow(clippy::unwrap_used, dead_code)] // each test file uses part of it

use std::sync::Arc;

use serde_json::{Value, json};
use sluice::Engine;
use sluice_server::{AppState, ServerConfig};

pub const ADMIN: &str = "test-admin-token-0123456789";
const USERS: &str = include_str!("../../../../examples/for-test-code/users.json");

/// A server on a free loopback port, with the example users.
pub struct Server {
    pub base: String,
    pub services: sluice::Services,
    pub agent: ureq::Agent,
    _runtime: tokio::runtime::Runtime,
}

pub struct Answer {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Server {
    pub fn start() -> Server {
        Server::start_on(sluice::Services::in_memory().unwrap())
    }

    /// A server on `services`' store, with the example users.
    pub fn start_on(services: sluice::Services) -> Server {
        Server::start_configured(services, |_| {})
    }

    /// A server that opens sessions for a password alone (`--password-sessions`).
    pub fn with_password_sessions() -> Server {
        Server::start_configured(sluice::Services::in_memory().unwrap(), |c| c.password_sessions = true)
    }

    /// A server on `services`' store, with the example users, configured by `configure` after
    /// the tests' defaults.
    pub fn start_configured(services: sluice::Services, configure: impl FnOnce(&mut ServerConfig)) -> Server {
        services.store.import_users(&sluice::users::parse_users(USERS).unwrap()).unwrap();
        let engine = Arc::new(Engine::builder().services(services.clone()).build().unwrap());
        let mut config = ServerConfig { body_limit: 64 << 10, admin_tokens: vec![ADMIN.into()], ..Default::default() };
        configure(&mut config);
        let state = Arc::new(AppState::new(engine, &config).unwrap());
        let app = sluice_server::router(state, &config);
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(sluice_server::serve(listener, app, std::future::pending()));
        // A fresh connection per request: a reused keep-alive connection that the server is
        // closing at that moment fails the request (rarely), which no assertion here is about.
        let config = ureq::Agent::config_builder().http_status_as_error(false).max_idle_connections(0).build();
        let agent = ureq::Agent::new_with_config(config);
        Server { base, services, agent, _runtime: runtime }
    }

    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> Answer {
        let authorization = token.map(|t| ("authorization".to_owned(), format!("Bearer {t}")));
        self.send(method, path, authorization.as_slice(), body)
    }

    /// A request with these headers (a body is sent as JSON unless they name its type).
    pub fn send(&self, method: &str, path: &str, headers: &[(String, String)], body: Option<&[u8]>) -> Answer {
        let url = format!("{}{path}", self.base);
        let request = headers
            .iter()
            .fold(ureq::http::Request::builder().method(method).uri(&url), |r, (name, value)| r.header(name, value));
        let typed = headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        let response = match body {
            Some(bytes) if typed => self.agent.run(request.body(bytes.to_vec()).unwrap()),
            Some(bytes) => {
                self.agent.run(request.header("content-type", "application/json").body(bytes.to_vec()).unwrap())
            }
            None => self.agent.run(request.body(()).unwrap()),
        };
        let mut response = response.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Answer { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        self.call(method, path, Some(ADMIN), body.map(str::as_bytes))
    }

    pub fn sign_in(&self, user: &str, password: &str) -> Answer {
        self.call(
            "POST",
            "/api/session",
            None,
            Some(json!({"userName": user, "password": password}).to_string().as_bytes()),
        )
    }
}
