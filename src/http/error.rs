//! The one error type at the edge, mapped to the contract's error bodies.
//!
//! Field problems are `400 {"field": ["message", …]}` (with `non_field_errors` for the rest);
//! everything else is `{"detail": "…"}` with the right status. A 5xx body never carries the
//! cause: the cause is logged (inside the request's span, so with its request id) and the client
//! gets a generic sentence.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::tokens::TokenError;
use crate::cache::CacheError;
use crate::storage::StorageError;
use crate::throttle::ThrottleError;

/// Seconds a client is asked to wait after a `503` because a service is down.
pub const RETRY_UNAVAILABLE: u64 = 2;

/// The key for errors that belong to no single field.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// `Result` with [`ApiError`] as the error.
pub type ApiResult<T, E = ApiError> = Result<T, E>;

/// Messages per field, in the order they were found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> FieldErrors {
        FieldErrors::default()
    }

    /// Adds a message for `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    /// Adds a message that belongs to no single field.
    pub fn add_non_field(&mut self, message: impl Into<String>) {
        self.add(NON_FIELD_ERRORS, message);
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `field` has at least one message.
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// `Ok(())` when empty, else the 400 error.
    pub fn into_result(self) -> ApiResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }

    /// Adds every message of `inner` under `field` (a nested object's errors: in the body they
    /// read `{"field": {"inner_field": ["…"]}}`, as DRF nests a serializer's errors).
    pub fn nest(&mut self, field: &str, inner: FieldErrors) {
        for (name, messages) in inner.0 {
            for message in messages {
                self.add(format!("{field}.{name}"), message);
            }
        }
    }

    /// Every field with its messages.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.0.iter()
    }

    /// These errors of item `at` of the list `field`, each message naming its field:
    /// `{"field": {"at": ["name: message"]}}`.
    pub fn in_list(self, field: &str, at: usize) -> FieldErrors {
        let mut out = FieldErrors::new();
        for (name, messages) in self.0 {
            for message in messages {
                out.add(format!("{field}.{at}"), format!("{name}: {message}"));
            }
        }
        out
    }

    fn to_json(&self) -> Value {
        let mut body = Map::new();
        for (field, messages) in &self.0 {
            match field.split_once('.') {
                Some((outer, inner)) => {
                    let entry = body
                        .entry(outer.to_owned())
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(nested) = entry {
                        nested.insert(inner.to_owned(), json!(messages));
                    }
                }
                None => {
                    body.insert(field.clone(), json!(messages));
                }
            }
        }
        Value::Object(body)
    }
}

/// A single-field validation error: `{"field": ["message"]}`.
pub fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    ApiError::Validation(errors)
}

/// A unique-constraint violation as a 400 on the field the client sent (`{"slug": ["…"]}`);
/// any other database error as itself. The one place where "the value is taken" becomes a field
/// error — after the insert or update, never as a pre-check that a parallel request can race.
pub fn unique_field_error(
    error: sea_orm::DbErr,
    field: &str,
    message: impl Into<String>,
) -> ApiError {
    if crate::db::is_unique_violation(&error) {
        field_error(field, message)
    } else {
        error.into()
    }
}

/// Every failure a handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400, one key per field.
    #[error("validation failed: {0:?}")]
    Validation(FieldErrors),
    /// 400 `{"detail"}`, for a body that cannot be read at all.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401 without credentials.
    #[error("not authenticated")]
    NotAuthenticated,
    /// 401 with a token that is bad or expired.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// 401 for wrong credentials.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(String),
    /// 403.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// 409, with extra keys beside `detail` (e.g. the short `items` of an order).
    #[error("conflict: {detail}")]
    Conflict {
        /// The sentence for the client.
        detail: String,
        /// More keys for the body.
        extra: Map<String, Value>,
    },
    /// 413.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 415.
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// 422.
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// 429 with `Retry-After` in seconds.
    #[error("throttled for {retry_after}s")]
    Throttled {
        /// Seconds until the client may try again.
        retry_after: u64,
    },
    /// 503: a dependency (usually the database) is not answering.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 503 with `Retry-After: 1`: too much expensive work is already running or waiting.
    #[error("overloaded")]
    Overloaded,
    /// 500: a bug or an unexpected failure; the cause is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// 400 `{"detail": message}`.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

/// 404 `{"detail": "Not found."}`.
pub fn not_found() -> ApiError {
    ApiError::NotFound("Not found.".to_owned())
}

/// 403 `{"detail": message}`.
pub fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::Forbidden(message.into())
}

/// 409 `{"detail": message}`.
pub fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::Conflict {
        detail: message.into(),
        extra: Map::new(),
    }
}

/// 500 with `cause` logged.
pub fn internal(cause: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(cause.to_string())
}

/// The generic sentence of a 500.
pub const SERVER_ERROR: &str = "A server error occurred.";
/// The generic sentence of a 503.
pub const UNAVAILABLE: &str = "Service temporarily unavailable, try again later.";

/// `{"detail": text}` with `status`.
pub fn detail_response(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "detail": text }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Validation(errors) => {
                (StatusCode::BAD_REQUEST, axum::Json(errors.to_json())).into_response()
            }
            ApiError::BadRequest(detail) => detail_response(StatusCode::BAD_REQUEST, &detail),
            ApiError::NotAuthenticated => detail_response(
                StatusCode::UNAUTHORIZED,
                "Authentication credentials were not provided.",
            ),
            ApiError::InvalidToken(detail) => (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({ "detail": detail, "code": "token_not_valid" })),
            )
                .into_response(),
            ApiError::AuthenticationFailed(detail) => {
                detail_response(StatusCode::UNAUTHORIZED, &detail)
            }
            ApiError::Forbidden(detail) => detail_response(StatusCode::FORBIDDEN, &detail),
            ApiError::NotFound(detail) => detail_response(StatusCode::NOT_FOUND, &detail),
            ApiError::Conflict { detail, mut extra } => {
                extra.insert("detail".to_owned(), Value::String(detail));
                (StatusCode::CONFLICT, axum::Json(Value::Object(extra))).into_response()
            }
            ApiError::PayloadTooLarge => {
                detail_response(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large.")
            }
            ApiError::UnsupportedMediaType(media_type) => detail_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("Unsupported media type \"{media_type}\" in request."),
            ),
            ApiError::Unprocessable(detail) => {
                detail_response(StatusCode::UNPROCESSABLE_ENTITY, &detail)
            }
            ApiError::Throttled { retry_after } => {
                let mut response = detail_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!(
                        "Request was throttled. Expected available in {retry_after} second{}.",
                        if retry_after == 1 { "" } else { "s" }
                    ),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                response
            }
            ApiError::Unavailable(cause) => {
                tracing::warn!(%cause, "answering 503");
                let mut response = detail_response(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_UNAVAILABLE));
                response
            }
            ApiError::Overloaded => {
                let mut response = detail_response(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(1_u64));
                response
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "answering 500");
                detail_response(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR)
            }
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> ApiError {
        use sea_orm::DbErr;
        match error {
            DbErr::RecordNotFound(_) => not_found(),
            ref unavailable if crate::db::is_unavailable(unavailable) => {
                ApiError::Unavailable(error.to_string())
            }
            other if crate::db::is_contention(&other) => ApiError::Overloaded,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Past a rate → 429 with the seconds left; the counter store (Redis) did not answer → the
/// request cannot be counted, so it is not served.
impl From<ThrottleError> for ApiError {
    fn from(error: ThrottleError) -> ApiError {
        match error {
            ThrottleError::Limited { retry_after } => ApiError::Throttled { retry_after },
            other @ ThrottleError::Store(_) => ApiError::Unavailable(other.to_string()),
        }
    }
}

/// The cache could not record a write (so it was not committed), or the commit failed.
impl From<CacheError> for ApiError {
    fn from(error: CacheError) -> ApiError {
        match error {
            CacheError::Database(e) => e.into(),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

/// The media store did not take or give a file.
impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> ApiError {
        ApiError::Unavailable(error.to_string())
    }
}

/// A token the client sent that is not good → `401 token_not_valid`; one that could not be made
/// → `500`.
impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> ApiError {
        match error {
            TokenError::Signing(cause) => ApiError::Internal(cause),
            other => ApiError::InvalidToken(other.to_string()),
        }
    }
}
