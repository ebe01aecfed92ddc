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
    /// A builder: may do everything.
    Admin,
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

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl AppState {
    /// Whether the request carries a builder token (compared with every admin token, in
    /// constant time, without stopping at a match).
    fn is_builder(&self, headers: &HeaderMap) -> bool {
        let Some(token) = bearer(headers) else { return false };
        let hash = admin_hash(token);
        let found = self.admin_tokens.iter().fold(subtle::Choice::from(0), |found, known| found | known.ct_eq(&hash));
        bool::from(found)
    }

    /// The caller, or 401 (a session token is looked up in the store).
    fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        if self.is_builder(headers) {
            return Ok(Caller::Admin);
        }
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
    let caller = match access {
        Access::Public => Ok(Caller::Anonymous),
        _ if state.is_builder(headers) => Ok(Caller::Admin),
        // Runs without a credential only when the dataflow is public (the handler decides); a
        // credential that is sent must be valid.
        Access::Dataflow if !headers.contains_key(axum::http::header::AUTHORIZATION) => Ok(Caller::Anonymous),
        // A session token is looked up in the store: on a blocking thread.
        Access::Signed | Access::Dataflow | Access::Builder => {
            let (state, headers) = (state.clone(), headers.clone());
            tokio::task::spawn_blocking(move || state.caller(&headers))
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
