//! Who calls: a builder (an admin token from `SLUICE_ADMIN_TOKENS`) or an end user (a session
//! token from `POST /api/session` or a dataflow whose confirm step issues one).

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ApiError;

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
    /// The caller, or 401.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = bearer(headers).ok_or_else(ApiError::unauthorized)?;
        let hash = admin_hash(token);
        // Compare with every admin token, in constant time, without stopping at a match.
        let admin = self.admin_tokens.iter().fold(subtle::Choice::from(0), |found, known| found | known.ct_eq(&hash));
        if bool::from(admin) {
            return Ok(Caller::Admin);
        }
        match sluice::sessions::check_token(self.engine.services(), token)? {
            Some(session) => Ok(Caller::User(session)),
            None => Err(ApiError::unauthorized()),
        }
    }

    /// The caller when it is a builder: 401 without a credential, 403 for an end user.
    pub fn admin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        match self.caller(headers)? {
            Caller::Admin => Ok(()),
            Caller::User(_) => Err(ApiError::forbidden()),
            Caller::Anonymous => Err(ApiError::unauthorized()),
        }
    }
}
