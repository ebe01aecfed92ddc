//! `sluice serve`: the HTTP backend of a visual builder (axum on tokio) and a web page.
//!
//! Every route is declared once in [`routes`], which both builds the router and writes the
//! OpenAPI document (`GET /api/openapi.json`), so the two cannot drift apart.

mod api;
mod auth;
mod error;
mod limits;
mod metrics;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};
use axum::routing::{MethodRouter, delete, get, post, put};
use serde_json::{Value, json};
use sluice::sessions::SessionRules;
use sluice::store::Store;
use sluice::{Engine, Lang, Plan};
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::{Caller, admin_hash};
pub use ipnet::IpNet;
pub use limits::{LimitConfig, Throttle, parse_networks};
pub use metrics::Metrics;

/// Settings of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body, in bytes (larger ones get 413).
    pub body_limit: usize,
    /// Longest a request may take (then 408).
    pub timeout: Duration,
    /// Builder (admin) tokens, each `name:token` or a token alone (see
    /// [`auth::BuilderToken::parse`]); only their SHA-256 is kept.
    pub admin_tokens: Vec<String>,
    /// How long sessions from `POST /api/session` last, in milliseconds.
    pub session_lifetime: i64,
    /// How long sessions from `POST /api/session` last unused, in milliseconds (0: no limit).
    pub session_idle_timeout: i64,
    /// Whether `POST /api/session` opens a session for a password alone (one factor). Off by
    /// default: sessions come from a dataflow that confirms a second factor.
    pub password_sessions: bool,
    /// The client every run of this server is for (one-time codes are bound to it). Only a
    /// builder may name another, with `X-Sluice-Client`; end users and anonymous callers
    /// cannot choose it.
    pub client: String,
    /// The component whose public `Login` and `Verify` dataflows the web page signs in with.
    pub signin_component: String,
    /// The components whose public dataflows the web page's account pages run; a page whose
    /// component is not set is not offered.
    pub account_components: AccountComponents,
    /// Keep each run's input, trace and outcome (secrets redacted) for `GET /api/runs/{id}`
    /// and replays.
    pub keep_run_details: bool,
    /// How long run records are kept before the background purge deletes them.
    pub run_retention: Duration,
    /// How often the background purge looks for what may go.
    pub purge_every: Duration,
    /// Limits on password sign-ins and anonymous runs of public dataflows.
    pub limits: LimitConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit: 10 << 20,
            timeout: Duration::from_secs(30),
            admin_tokens: Vec::new(),
            session_lifetime: 12 * 3_600_000,
            session_idle_timeout: sluice::sessions::DEFAULT_IDLE_TIMEOUT,
            password_sessions: false,
            client: "web".into(),
            signin_component: "EmailTwoFactor".into(),
            account_components: AccountComponents::default(),
            keep_run_details: true,
            run_retention: Duration::from_secs(7 * 24 * 3600),
            purge_every: Duration::from_secs(60),
            limits: LimitConfig::default(),
        }
    }
}

/// The components behind the web page's account pages (see `examples/signup`,
/// `examples/password-reset` and `examples/totp` for the dataflows each must have).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountComponents {
    /// `Register` and `ConfirmEmail` (public): "Create an account" and the confirmation link's
    /// page, `/account/confirm-email`.
    pub signup: Option<String>,
    /// `ForgotPassword` and `ResetPassword` (public): "Forgot password?" and the reset link's
    /// page, `/account/reset-password`.
    pub password_reset: Option<String>,
    /// `Login` (public; a password and an authenticator code), `Enrol` and `ConfirmEnrolment`
    /// (signed in): "Sign in with app" and "Add an authenticator app".
    pub authenticator: Option<String>,
}

/// What every request shares.
pub struct AppState {
    engine: Arc<Engine>,
    plans: RwLock<HashMap<String, CachedPlan>>,
    admin_tokens: Vec<auth::BuilderToken>,
    metrics: Metrics,
    session_rules: SessionRules,
    password_sessions: bool,
    client: String,
    /// The web page, naming the sign-in component (written once, at start).
    page: String,
    keep_run_details: bool,
    limits: limits::Limits,
    /// The step catalog as JSON, in each language of [`Lang::ALL`] (it never changes while the
    /// process runs: step types are linked in).
    catalogs: Vec<Bytes>,
}

/// A saved component's plan, with the version it was built from and the versions of the
/// other components its steps read or write (a plan is rebuilt when any of them changes).
#[derive(Clone)]
struct CachedPlan {
    version: i64,
    reads: Vec<(String, i64)>,
    plan: Arc<Plan>,
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The step catalog could not be written as JSON.
    #[error("cannot write the step catalog: {0}")]
    Catalog(#[from] serde_json::Error),
    /// The address could not be bound or served.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl AppState {
    /// The state for `engine` (whose services hold the store) and `config`.
    pub fn new(engine: Arc<Engine>, config: &ServerConfig) -> Result<AppState, ServeError> {
        let catalogs = Lang::ALL
            .into_iter()
            .map(|lang| serde_json::to_vec(&engine.catalog(lang)).map(Bytes::from))
            .collect::<Result<_, _>>()?;
        Ok(AppState {
            catalogs,
            engine,
            plans: RwLock::new(HashMap::new()),
            admin_tokens: config.admin_tokens.iter().map(|entry| auth::BuilderToken::parse(entry)).collect(),
            metrics: Metrics::default(),
            session_rules: SessionRules {
                lifetime: config.session_lifetime,
                idle_timeout: config.session_idle_timeout,
            },
            password_sessions: config.password_sessions,
            client: config.client.clone(),
            page: web_page(&config.signin_component, &config.account_components),
            keep_run_details: config.keep_run_details,
            limits: limits::Limits::new(&config.limits),
        })
    }

    /// The step catalog in `lang`, as JSON.
    fn catalog(&self, lang: Lang) -> Bytes {
        let index = Lang::ALL.iter().position(|l| *l == lang).unwrap_or_default();
        self.catalogs.get(index).cloned().unwrap_or_default()
    }

    fn cached(&self, name: &str, version: i64) -> Option<CachedPlan> {
        let plans = self.plans.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        plans.get(name).filter(|cached| cached.version == version).cloned()
    }

    fn cache(&self, name: &str, cached: CachedPlan) {
        let mut plans = self.plans.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        plans.insert(name.to_owned(), cached);
    }

    fn forget(&self, name: &str) {
        self.plans.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(name);
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A builder token or an end user's session.
    Signed,
    /// As the dataflow run says (`"access"` in its file): anyone for a public one.
    Dataflow,
    /// A builder token only.
    Builder,
}

/// One route: its documentation and its handler.
pub struct Route {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// The path, with `{parameters}`.
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Which of its requests the limits per address count.
    pub throttle: Throttle,
    /// The answers it gives, by status.
    pub responses: &'static [(u16, &'static str)],
    /// What its request body is, when it takes one.
    pub body: Option<RequestBody>,
    /// Its query parameters: name, kind, what it does.
    pub query: &'static [(&'static str, Param, &'static str)],
    handler: MethodRouter<Arc<AppState>>,
}

/// The kind of a query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// Any text.
    Text,
    /// `true` or `false`.
    Flag,
    /// A whole number from `minimum` on.
    Number {
        /// The least value.
        minimum: i64,
    },
}

impl Param {
    fn schema(self) -> Value {
        match self {
            Param::Text => json!({"type": "string"}),
            Param::Flag => json!({"type": "boolean"}),
            Param::Number { minimum } => json!({"type": "integer", "minimum": minimum, "maximum": i64::MAX}),
        }
    }
}

/// The request body a route takes (JSON), as the OpenAPI document describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBody {
    /// A component file (the component schema).
    Component,
    /// An action model: any JSON object, its fields under `data`.
    ActionModel,
    /// `{"userName": .., "password": ..}`.
    Credentials,
    /// `{"name": ..}`: a component's new name.
    NewName,
}

impl RequestBody {
    /// The body's JSON Schema within the OpenAPI document.
    fn schema(self) -> Value {
        match self {
            RequestBody::Component => json!({"$ref": "#/components/schemas/Component"}),
            RequestBody::ActionModel => json!({
                "type": "object",
                "description": "The action model: the form's fields under `data` (`_` keys are the server's, refused from anyone but a builder).",
                "properties": {"data": {"type": "object"}},
            }),
            RequestBody::NewName => json!({
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"$ref": "#/components/schemas/Component/properties/name"}},
            }),
            RequestBody::Credentials => json!({
                "type": "object",
                "required": ["userName", "password"],
                "properties": {"userName": {"type": "string"}, "password": {"type": "string"}},
            }),
        }
    }
}

const BAD: (u16, &str) = (400, "malformed JSON or parameters");
const UNAUTHORIZED: (u16, &str) = (401, "no valid credential");
const FORBIDDEN: (u16, &str) = (403, "an end user's credential where a builder token is needed");
const NOT_FOUND: (u16, &str) = (404, "unknown component, dataflow or run");
const TOO_LARGE: (u16, &str) = (413, "the body is larger than the limit");
const NOT_JSON: (u16, &str) = (415, "a body sent with another Content-Type than application/json");
const INVALID: (u16, &str) = (422, "the component is invalid, or the run failed");
const UNAVAILABLE: (u16, &str) = (503, "the store is unavailable; try again");
const TOO_MANY: (u16, &str) =
    (429, "too many such requests from this address or from everyone; Retry-After says when to try again");

/// Every route of the server.
pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: "GET",
            path: "/",
            summary: "The web page.",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "HTML")],
            body: None,
            query: &[],
            handler: get(page),
        },
        Route {
            method: "GET",
            path: "/account/confirm-email",
            summary: "The web page, where a sign-up's confirmation link lands (its ?token= confirms the address).",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "HTML")],
            body: None,
            query: &[],
            handler: get(page),
        },
        Route {
            method: "GET",
            path: "/account/reset-password",
            summary: "The web page, where a password reset link lands (its ?token= sets a new password).",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "HTML")],
            body: None,
            query: &[],
            handler: get(page),
        },
        Route {
            method: "GET",
            path: "/app.js",
            summary: "The web page's script.",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "JavaScript")],
            body: None,
            query: &[],
            handler: get(|| asset(JAVASCRIPT, include_str!("../web/app.js"))),
        },
        Route {
            method: "GET",
            path: "/app.css",
            summary: "The web page's styles.",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "CSS")],
            body: None,
            query: &[],
            handler: get(|| asset(CSS, include_str!("../web/app.css"))),
        },
        Route {
            method: "GET",
            path: "/common.js",
            summary: "The script both pages share (API calls, the modal).",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "JavaScript")],
            body: None,
            query: &[],
            handler: get(|| asset(JAVASCRIPT, include_str!("../web/common.js"))),
        },
        Route {
            method: "GET",
            path: "/builder",
            summary: "The builder page: edit, validate, save and run components (every call it makes needs a builder token).",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "HTML")],
            body: None,
            query: &[],
            handler: get(|| asset("text/html; charset=utf-8", include_str!("../web/builder.html"))),
        },
        Route {
            method: "GET",
            path: "/builder.js",
            summary: "The builder page's script.",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "JavaScript")],
            body: None,
            query: &[],
            handler: get(|| asset(JAVASCRIPT, include_str!("../web/builder.js"))),
        },
        Route {
            method: "GET",
            path: "/editor.js",
            summary: "The builder page's code editor (line numbers, Rhai highlighting, the failed line marked).",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "JavaScript")],
            body: None,
            query: &[],
            handler: get(|| asset(JAVASCRIPT, include_str!("../web/editor.js"))),
        },
        Route {
            method: "GET",
            path: "/builder.css",
            summary: "The builder page's styles.",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "CSS")],
            body: None,
            query: &[],
            handler: get(|| asset(CSS, include_str!("../web/builder.css"))),
        },
        Route {
            method: "GET",
            path: "/api/schemas/component",
            summary: "The JSON Schema of component files (as `sluice schemas` writes it).",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "a JSON Schema")],
            body: None,
            query: &[],
            handler: get(|| async { axum::Json(sluice::schema::component_schema()) }),
        },
        Route {
            method: "GET",
            path: "/healthz",
            summary: "Whether the server and its store work.",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "ok"), (503, "the store is unavailable")],
            body: None,
            query: &[],
            handler: get(api::healthz),
        },
        Route {
            method: "GET",
            path: "/metrics",
            summary: "Counters in Prometheus' text format: runs, step durations, failures by step type, one-time codes.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[(200, "Prometheus text"), UNAUTHORIZED, FORBIDDEN],
            body: None,
            query: &[],
            handler: get(api::metrics),
        },
        Route {
            method: "GET",
            path: "/api/openapi.json",
            summary: "This document.",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "OpenAPI 3")],
            body: None,
            query: &[],
            handler: get(openapi),
        },
        Route {
            method: "GET",
            path: "/api/steps",
            summary: "The step catalog with settings schemas and labels (?lang=en|fr|es|pt|de or Accept-Language).",
            access: Access::Public,
            throttle: Throttle::No,
            responses: &[(200, "the catalog")],
            body: None,
            query: &[(
                "lang",
                Param::Text,
                "en, fr, es, pt or de (Accept-Language otherwise; English when neither names one)",
            )],
            handler: get(api::steps),
        },
        Route {
            method: "POST",
            path: "/api/validate",
            summary: "Validates a component file (the body). Both answers carry the builder's path completions: `fields`, for each step's JSON Pointer the top-level fields the steps upstream of it write, and `systemFields`, the fields every entry has besides its definitions.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[
                (
                    200,
                    "{\"valid\": true, \"fields\": {\"/dataflows/0/stages/1/steps/0\": [\"_user\"]}, \"systemFields\": [\"Id\", ..]}",
                ),
                BAD,
                UNAUTHORIZED,
                FORBIDDEN,
                TOO_LARGE,
                NOT_JSON,
                (422, "{\"valid\": false, \"errors\": [..], \"fields\": {..}, \"systemFields\": [..]}"),
            ],
            body: Some(RequestBody::Component),
            query: &[],
            handler: post(api::validate),
        },
        Route {
            method: "GET",
            path: "/api/components",
            summary: "The saved components (latest versions).",
            access: Access::Signed,
            throttle: Throttle::No,
            responses: &[(200, "[{name, version, title, savedAt}]"), UNAUTHORIZED, UNAVAILABLE],
            body: None,
            query: &[],
            handler: get(api::list_components),
        },
        Route {
            method: "PUT",
            path: "/api/components/{name}",
            summary: "Validates and saves a component file as a new version.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[
                (200, "{name, version}"),
                BAD,
                UNAUTHORIZED,
                FORBIDDEN,
                TOO_LARGE,
                NOT_JSON,
                INVALID,
                UNAVAILABLE,
            ],
            body: Some(RequestBody::Component),
            query: &[],
            handler: put(api::put_component),
        },
        Route {
            method: "GET",
            path: "/api/components/{name}",
            summary: "A saved component file (?version=N for an earlier one).",
            access: Access::Signed,
            throttle: Throttle::No,
            responses: &[(200, "{name, version, component}"), BAD, UNAUTHORIZED, NOT_FOUND, UNAVAILABLE],
            body: None,
            query: &[("version", Param::Number { minimum: 1 }, "that version (the latest otherwise)")],
            handler: get(api::get_component),
        },
        Route {
            method: "GET",
            path: "/api/components/{name}/versions",
            summary: "The component's versions, newest first (at most 100): [{version, savedAt}].",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[(200, "[{version, savedAt}]"), UNAUTHORIZED, FORBIDDEN, NOT_FOUND, UNAVAILABLE],
            body: None,
            query: &[],
            handler: get(api::component_versions),
        },
        Route {
            method: "GET",
            path: "/api/components/{name}/file",
            summary: "The component file exactly as saved (?version=N for an earlier one), as a download: export what was imported and get the same bytes.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[(200, "the file's text"), BAD, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, UNAVAILABLE],
            body: None,
            query: &[("version", Param::Number { minimum: 1 }, "that version (the latest otherwise)")],
            handler: get(api::component_file),
        },
        Route {
            method: "DELETE",
            path: "/api/components/{name}",
            summary: "Deletes a component and its versions.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[(204, "deleted"), UNAUTHORIZED, FORBIDDEN, NOT_FOUND, UNAVAILABLE],
            body: None,
            query: &[],
            handler: delete(api::delete_component),
        },
        Route {
            method: "POST",
            path: "/api/components/{name}/rename",
            summary: "Renames a component with every version (`{\"name\": \"New\"}`): each version's file names the new name, the rest of its text kept.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[
                (200, "{\"name\": \"New\"}"),
                BAD,
                UNAUTHORIZED,
                FORBIDDEN,
                NOT_FOUND,
                (409, "a component has that name already"),
                NOT_JSON,
                (422, "no component may have that name"),
                UNAVAILABLE,
            ],
            body: Some(RequestBody::NewName),
            query: &[],
            handler: post(api::rename_component),
        },
        Route {
            method: "POST",
            path: "/api/components/{name}/dataflows/{dataflow}/execute",
            summary: "Runs a dataflow on the action model (the body); an end user runs as the calling user.",
            access: Access::Dataflow,
            throttle: Throttle::Anonymous,
            responses: &[
                (200, "{runId, response, formActions}"),
                BAD,
                UNAUTHORIZED,
                NOT_FOUND,
                TOO_LARGE,
                NOT_JSON,
                (422, "{runId, error: {step, type, pointer, message}}"),
                TOO_MANY,
                UNAVAILABLE,
            ],
            body: Some(RequestBody::ActionModel),
            query: &[],
            handler: post(api::execute),
        },
        Route {
            method: "POST",
            path: "/api/users/{name}/unlock",
            summary: "Lifts a user's locks (too many failed logins or codes; 100 in a row lock until unlocked) and forgets their failures.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[(204, "unlocked"), UNAUTHORIZED, FORBIDDEN, NOT_FOUND, UNAVAILABLE],
            body: None,
            query: &[],
            handler: post(api::unlock_user),
        },
        Route {
            method: "GET",
            path: "/api/runs",
            summary: "Run records, newest first, each with its user's name (`userName`) beside the id the record keeps.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[(200, "[run]"), BAD, UNAUTHORIZED, FORBIDDEN, UNAVAILABLE],
            body: None,
            query: &[
                ("component", Param::Text, "only this component's runs"),
                ("limit", Param::Number { minimum: 0 }, "at most this many, newest first (default 50, at most 1,000)"),
            ],
            handler: get(api::list_runs),
        },
        Route {
            method: "GET",
            path: "/api/runs/{id}",
            summary: "A run record with its input and per-step trace, secrets redacted.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[(200, "run"), UNAUTHORIZED, FORBIDDEN, NOT_FOUND, UNAVAILABLE],
            body: None,
            query: &[],
            handler: get(api::get_run),
        },
        Route {
            method: "POST",
            path: "/api/runs/{id}/replay",
            summary: "Runs a recorded run again on its input and says whether the outcome matches: a dry run (steps issue no code, send nothing, write nothing, count no failure, open no session, and say so in the trace) unless ?effects=true.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[
                (200, "{matches, dryRun, status, recorded, replayed}"),
                BAD,
                UNAUTHORIZED,
                FORBIDDEN,
                NOT_FOUND,
                (409, "recorded without input"),
                UNAVAILABLE,
            ],
            body: None,
            query: &[(
                "effects",
                Param::Flag,
                "true: issue codes, send, write and count for real (default false: a dry run)",
            )],
            handler: post(api::replay_run),
        },
        Route {
            method: "POST",
            path: "/api/runs/{id}/run-from/{step}",
            summary: "Runs a recorded run's dataflow again from one step, fed the items its source emitted in that run (secret fields read \"[redacted]\"), as the run's user: the steps above it do not run (no second code, no second mail); it and the steps it feeds run for real. Answers as execute does.",
            access: Access::Builder,
            throttle: Throttle::No,
            responses: &[
                (200, "{runId, response, formActions}"),
                UNAUTHORIZED,
                FORBIDDEN,
                NOT_FOUND,
                (409, "the run kept no items of the step's source"),
                (422, "no such step, a step without a source, or the step failed"),
                UNAVAILABLE,
            ],
            body: None,
            query: &[],
            handler: post(api::run_from),
        },
        Route {
            method: "POST",
            path: "/api/session",
            summary: "Signs an end user in with a password alone (one factor), when the server allows it (--password-sessions): {userName, password} → {token, expiresAt}.",
            access: Access::Public,
            throttle: Throttle::Always,
            responses: &[
                (200, "{token, expiresAt}"),
                BAD,
                (401, "invalid user name or password"),
                (403, "password-only sessions are off: sign in through a dataflow with a second factor"),
                NOT_JSON,
                TOO_MANY,
                UNAVAILABLE,
            ],
            body: Some(RequestBody::Credentials),
            query: &[],
            handler: post(api::session),
        },
        Route {
            method: "GET",
            path: "/api/session",
            summary: "Who the caller is: a builder, or an end user with the client and end of the session.",
            access: Access::Signed,
            throttle: Throttle::No,
            responses: &[
                (200, "{builder: true} or {userName, client, createdAt, expiresAt}"),
                UNAUTHORIZED,
                UNAVAILABLE,
            ],
            body: None,
            query: &[],
            handler: get(api::whoami),
        },
        Route {
            method: "DELETE",
            path: "/api/session",
            summary: "Signs the caller out: the session of the token sent ends.",
            access: Access::Signed,
            throttle: Throttle::No,
            responses: &[(204, "signed out"), (409, "a builder token is no session"), UNAUTHORIZED, UNAVAILABLE],
            body: None,
            query: &[],
            handler: delete(api::sign_out),
        },
    ]
}

/// The OpenAPI 3 document of [`routes`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for route in routes() {
        let mut responses: serde_json::Map<String, Value> =
            route.responses.iter().map(|(status, what)| (status.to_string(), json!({"description": what}))).collect();
        // What any route may answer, from the layers every route has.
        let (status, what) = NUL_IN_ADDRESS;
        responses.entry(status.to_string()).or_insert_with(|| json!({"description": what}));
        let in_path = route.path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'));
        let parameters: Vec<Value> = in_path
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .chain(route.query.iter().map(
                |(name, kind, what)| json!({"name": name, "in": "query", "description": what, "schema": kind.schema()}),
            ))
            .collect();
        let mut operation = json!({"summary": route.summary, "parameters": parameters, "responses": responses});
        if route.access != Access::Public {
            operation["security"] = json!([{"bearer": []}]);
        }
        if let Some(body) = route.body {
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": body.schema()}}});
        }
        let entry = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Sluice", "version": env!("CARGO_PKG_VERSION")},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": component_schemas(),
        },
        "paths": paths,
    })
}

/// The component file's schema as OpenAPI components: `Component` and its definitions, with
/// its references pointing into the document.
fn component_schemas() -> Value {
    let text = sluice::schema::component_schema().to_string().replace("\"#/$defs/", "\"#/components/schemas/");
    let Ok(Value::Object(mut root)) = serde_json::from_str::<Value>(&text) else { return json!({}) };
    root.remove("$schema");
    let mut schemas = match root.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => serde_json::Map::new(),
    };
    schemas.insert("Component".into(), Value::Object(root));
    Value::Object(schemas)
}

async fn openapi() -> impl IntoResponse {
    axum::Json(openapi_document())
}

/// The web page, with the sign-in and account components set on the server in `<meta>` tags
/// the page's script reads (the page takes them from no one else: a link cannot point it
/// elsewhere).
fn web_page(signin_component: &str, accounts: &AccountComponents) -> String {
    let escape = |text: &str| -> String {
        text.chars()
            .map(|c| match c {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '"' => "&quot;".to_owned(),
                '\'' => "&#39;".to_owned(),
                c => c.to_string(),
            })
            .collect()
    };
    let named = [
        ("sluice-signin", Some(signin_component)),
        ("sluice-signup", accounts.signup.as_deref()),
        ("sluice-password-reset", accounts.password_reset.as_deref()),
        ("sluice-authenticator", accounts.authenticator.as_deref()),
    ];
    let metas: String = named
        .iter()
        .filter_map(|(name, value)| Some(format!("<meta name=\"{name}\" content=\"{}\">\n", escape((*value)?))))
        .collect();
    include_str!("../web/index.html").replacen("<title>", &format!("{metas}<title>"), 1)
}

async fn page(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> Html<String> {
    Html(state.page.clone())
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A file of the web pages, embedded in the binary.
async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type)], body)
}

/// The router with every route, the body limit and the timeout.
pub fn router(state: Arc<AppState>, config: &ServerConfig) -> Router {
    // Execute dataflow into another saved component runs that component's latest plan (held
    // weakly: the plans hold the services that hold this).
    let weak = Arc::downgrade(&state);
    state.engine.services().plans.set(move |name| weak.upgrade().and_then(|state| api::plan_of(&state, name).ok()));
    let mut router = Router::new();
    for route in routes() {
        let rules =
            auth::RouteRules { access: route.access, throttle: route.throttle, api: route.path.starts_with("/api/") };
        let handler =
            route.handler.layer(axum::middleware::from_fn_with_state(state.clone(), move |state, request, next| {
                auth::guard(state, rules, request, next)
            }));
        router = router.route(route.path, handler);
    }
    router
        .fallback(|| async { (NOT_CACHED, error::ApiError::not_found("no such route; see /api/openapi.json")) })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            let message = format!("this address does not take {method}; see /api/openapi.json");
            (NOT_CACHED, error::ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, message))
        })
        .layer(axum::middleware::from_fn(refuse_nul_in_address))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            config.timeout,
        ))
        .with_state(state)
}

/// A router with only `GET /metrics`, without credentials, for `sluice serve --metrics-addr`:
/// serve it on an address only the monitoring can reach (the main one keeps `/metrics` for
/// builders).
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(api::metrics))
        .fallback(|| async { error::ApiError::not_found("this address serves /metrics only") })
        .with_state(state)
}

/// What [`refuse_nul_in_address`] answers, as the OpenAPI document tells it.
const NUL_IN_ADDRESS: (u16, &str) = (400, "the address holds an encoded NUL character (%00)");

/// 400 for an address holding an encoded NUL character (`%00`) in its path or query: no name
/// or id holds one (see `sluice::types::NUL_RULE`), and PostgreSQL cannot even look it up.
async fn refuse_nul_in_address(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let uri = request.uri();
    let encoded_nul = |part: &str| part.contains("%00");
    if encoded_nul(uri.path()) || uri.query().is_some_and(encoded_nul) {
        let message = format!("{}: {}", NUL_IN_ADDRESS.1, sluice::types::NUL_RULE);
        return error::ApiError::bad_request(message).into_response();
    }
    next.run(request).await
}

/// The Content-Security-Policy of every answer (with `X-Content-Type-Options: nosniff` and
/// `Referrer-Policy: no-referrer`; `/api` answers are not cached, see [`auth::guard`]): the page
/// loads its script and styles from this server only, runs no inline code, and is framed by no
/// one.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The header of answers not to be cached: every `/api` answer (see [`auth::guard`]) and the
/// answers to addresses that are no route.
const NOT_CACHED: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// Rows each purge call deletes at most, per kind.
const PURGE_BATCH: usize = 1000;

/// Deletes what the store may forget (spent and expired codes, expired sessions and locks,
/// old failures, runs older than the retention) every `config.purge_every`, for ever: spawn
/// it beside [`serve`]. Each call deletes bounded batches on a blocking thread, and calls
/// follow one another only while full batches come back, so requests never wait behind it.
pub async fn housekeeping(engine: Arc<Engine>, config: &ServerConfig) {
    let (every, retention) = (config.purge_every, config.run_retention);
    let retention = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    loop {
        tokio::time::sleep(every).await;
        loop {
            let services = engine.services().clone();
            let purged = tokio::task::spawn_blocking(move || {
                let now = services.clock.now();
                let purge = sluice::store::Purge {
                    now,
                    failures_before: now - services.otp.failure_window,
                    runs_before: now.saturating_sub(retention),
                    batch: PURGE_BATCH,
                };
                services.store.purge(&purge)
            })
            .await;
            match purged {
                Ok(Ok(n)) if n >= PURGE_BATCH => tracing::debug!(purged = n, "purged a batch; more to go"),
                Ok(Ok(n)) => {
                    tracing::debug!(purged = n, "purged");
                    break;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the purge failed; trying again later");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the purge was lost");
                    break;
                }
            }
        }
    }
}

/// Threads a server's runtime should allow for the blocking work of requests — dataflow runs
/// and store calls — with `tokio::runtime::Builder::max_blocking_threads`: for a store whose
/// calls wait ([`Store::waits`]: SQLite, PostgreSQL) 16 per core, at least 32; for one that
/// never waits (memory) 4 per core, at least 8.
///
/// A thread waiting on the store leaves its core to others, and the SQLite writer commits
/// the writes of every thread waiting at once: on 2 cores, SQLite served 4,800 – 5,000
/// requests/s on 8 threads, 5,700 – 6,400 on 16 and 7,300 – 8,100 on 32. With the memory
/// store every thread computes, so threads beyond the cores only take turns on them (and
/// preempt one another inside the store's lock): 28,000 – 30,000 requests/s on 4 to 8
/// threads, 22,000 – 25,000 on 16 (docs/performance.md). Tokio's default (512) had grown 226
/// threads and 400 MB for 64 connections. Every script holds a thread for at most its 1 s
/// limit, so stalling a server takes as many hostile requests a second as it has threads;
/// `sluice serve --workers` sets another number.
pub fn default_workers(store: &dyn Store) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if store.waits() { (16 * cores).max(32) } else { (4 * cores).max(8) }
}

/// How many connections the kernel queues for the server to accept (capped by
/// `net.core.somaxconn`): a burst of new connections waits there instead of being dropped,
/// which costs each dropped client a one-second SYN retry (measured in docs/reliability.md).
pub const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `addr` with a queue of [`LISTEN_BACKLOG`] connections (inside a tokio runtime).
pub fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(?addr, "serving");
    // With each connection's peer address, for the limits per address.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}
