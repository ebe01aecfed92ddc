//! API errors: every failure answers JSON `{"error": {"message": ..}}` with the right status;
//! bad input never becomes a 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    /// An error with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError { status, body: json!({"error": {"message": message.into()}}) }
    }

    /// An error with a body of its own.
    pub fn with_body(status: StatusCode, body: Value) -> Self {
        ApiError { status, body }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no or an unknown credential.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "a valid credential is needed: Authorization: Bearer <token>")
    }

    /// 403: a credential without the right role.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "this credential may not do that: it needs a builder (admin) token")
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 500, for the server's own failures (the store is down), never for bad input.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<sluice::store::StoreError> for ApiError {
    fn from(e: sluice::store::StoreError) -> Self {
        match e {
            sluice::store::StoreError::NotFound(m) => Self::not_found(m),
            sluice::store::StoreError::Duplicate(m) => Self::new(StatusCode::CONFLICT, m),
            other => Self::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
