//! Who calls: a builder (an admin token from `SLUICE_ADMIN_TOKENS`) or an end user (a session
//! token from `POST /api/session` or a dataflow whose confirm step issues one).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::{Access, AppState, Throttle, limits};

/// A checked credential.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A builder, by the name of their token: may do everything.
    Admin(Arc<str>),
    /// No credential, on a public dataflow.
    Anonymous,
    /// An end user, with the live session of the token sent: may read components and execute
    /// dataflows as themselves.
    User(sluice::store::Session),
}

/// SHA-256 of an admin token, as kept in memory.
pub fn admin_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A builder token as kept in memory: its SHA-256 and the builder's name.
#[derive(Debug)]
pub struct BuilderToken {
    hash: [u8; 32],
    name: Arc<str>,
}

/// The name of a builder whose token carries none.
pub const UNNAMED_BUILDER: &str = "builder";

impl BuilderToken {
    /// An entry of `SLUICE_ADMIN_TOKENS`: `name:token` names the builder (a name of letters,
    /// digits, `.`, `_` and `-`, up to 64); any other entry is a token alone, whose builder is
    /// [`UNNAMED_BUILDER`].
    pub fn parse(entry: &str) -> BuilderToken {
        let entry = entry.trim();
        let named = entry.split_once(':').filter(|(name, token)| {
            !token.is_empty()
                && (1..=64).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
        let (name, token) = named.unwrap_or((UNNAMED_BUILDER, entry));
        BuilderToken { hash: admin_hash(token), name: name.into() }
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl AppState {
    /// The builder whose token the request carries (compared with every admin token, in
    /// constant time, without stopping at a match).
    fn builder(&self, headers: &HeaderMap) -> Option<Caller> {
        let hash = admin_hash(bearer(headers)?);
        let mut found = None;
        for known in &self.admin_tokens {
            if bool::from(known.hash.ct_eq(&hash)) {
                found = Some(Caller::Admin(known.name.clone()));
            }
        }
        found
    }

    /// The end user whose session token the request carries, or 401 (the token is looked up
    /// in the store).
    fn session_caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
        match sluice::sessions::check_token(self.engine.services(), token)? {
            Some(session) => Ok(Caller::User(session)),
            None => Err(ApiError::unauthorized()),
        }
    }
}

/// The layer of every route, made from its row of the route table: the route's limits
/// ([`limits::throttle`]), then its [`Access`]: the checked [`Caller`] goes into the request's
/// extensions for the handler (`Extension<Caller>`), so no handler checks credentials itself
/// and a new route cannot forget to. `/api` answers, which carry codes, tokens and run records,
/// are not to be cached.
pub async fn guard(
    State(state): State<Arc<AppState>>,
    route: RouteRules,
    mut request: Request,
    next: Next,
) -> Response {
    let running = match limits::throttle(&state, route.throttle, &request) {
        Ok(running) => running,
        Err(seconds) => return limits::too_many_requests(seconds),
    };
    // Waiting here holds no thread: the blocking threads stay free for everything else.
    let _permit = match running.map(|r| r.acquire()) {
        None => None,
        Some(acquire) => match acquire.await {
            Ok(permit) => Some(permit),
            Err(_) => return ApiError::internal("the server is shutting down").into_response(),
        },
    };
    let access = route.access;
    let headers = request.headers();
    let builder = if access == Access::Public { None } else { state.builder(headers) };
    let caller = match (access, builder) {
        (Access::Public, _) => Ok(Caller::Anonymous),
        (_, Some(builder)) => Ok(builder),
        // Runs without a credential only when the dataflow is public (the handler decides); a
        // credential that is sent must be valid.
        (Access::Dataflow, None) if !headers.contains_key(axum::http::header::AUTHORIZATION) => Ok(Caller::Anonymous),
        // A session token is looked up in the store: on a blocking thread.
        (Access::Signed | Access::Dataflow | Access::Builder, None) => {
            let (state, headers) = (state.clone(), headers.clone());
            tokio::task::spawn_blocking(move || state.session_caller(&headers))
                .await
                .unwrap_or_else(|e| Err(ApiError::internal(format!("the request was lost: {e}"))))
        }
    };
    // An end user where a builder token is needed.
    let caller = match (access, caller) {
        (Access::Builder, Ok(Caller::User(_))) => Err(ApiError::forbidden()),
        (_, caller) => caller,
    };
    let mut response = match caller {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    };
    if route.api {
        let [(name, value)] = crate::NOT_CACHED;
        response.headers_mut().insert(name, HeaderValue::from_static(value));
    }
    response
}

/// What [`guard`] enforces for one route, from its row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct RouteRules {
    /// Who may call it.
    pub access: Access,
    /// Which requests count against the limits.
    pub throttle: Throttle,
    /// An `/api` route: answers are not cached.
    pub api: bool,
}
