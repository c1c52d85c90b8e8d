//! One error type for every request, mapped to a status code.
//!
//! Client errors (400, 404, 409, 413, 415, 422) are answered precisely and
//! are not faults; server faults are logged once, with their cause, and
//! answered with a bland 500 that shows nothing internal. Nothing a client
//! sends is meant to reach the 500 arm.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use constancia::validate::FieldError;
use serde_json::json;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not what the endpoint reads (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such form, version or submission (404).
    #[error("{0}")]
    NotFound(String),
    /// The submission id was used with other content (409).
    #[error("this submission_id was already used for a different submission")]
    Conflict,
    /// The body is over the limit (413).
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// Wrong content type (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The answers do not pass validation (422).
    #[error("the submission has {} error(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// Our fault (500).
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The status code of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict => "conflict",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Invalid(_) => "invalid",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Logs server faults (once, here) and returns the JSON body.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::Invalid(errors) => json!({ "errors": errors }),
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                json!({ "errors": [{ "code": "internal", "message": "the server could not handle this request; it has been logged" }] })
            }
            other => json!({ "errors": [{ "code": other.code(), "message": other.to_string() }] }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
