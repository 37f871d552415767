//! JSON request bodies: the `Content-Type`, size and shape gates ([`JsonObject`], 415 / 413 /
//! 400), reading a body within a limit, and [`Form`], which reads a [`FromFields`] type from one.

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use super::fields::{Fields, FromFields, json_type};
use crate::http::error::{ApiError, ApiResult, bad_request};
use crate::money::Currency;
use crate::state::AppState;

/// The body of a request, checked to be a JSON object.
#[derive(Debug, Clone, Default)]
pub struct JsonObject(pub Map<String, Value>);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads the whole body, never more than `limit` bytes (413 past it).
pub async fn read_body(body: Body, limit: usize) -> ApiResult<axum::body::Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
            || error.to_string().contains("length limit");
        if too_large {
            ApiError::PayloadTooLarge
        } else {
            bad_request("The request body could not be read.")
        }
    })
}

impl<S> FromRequest<S> for JsonObject
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let limit = state.settings.max_body_size;
        if declared_length.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        if let Some(ct) = content_type.as_deref().filter(|ct| !is_json(ct)) {
            return Err(ApiError::UnsupportedMediaType(ct.to_owned()));
        }
        let bytes = read_body(request.into_body(), limit).await?;
        if content_type.is_none() {
            // No body and no type: an empty object, as DRF treats it.
            if bytes.is_empty() {
                return Ok(JsonObject::default());
            }
            return Err(ApiError::UnsupportedMediaType(String::new()));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject::default());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(other) => Err(bad_request(format!(
                "Invalid data. Expected a dictionary, but got {}.",
                json_type(&other)
            ))),
            Err(e) => Err(bad_request(format!("JSON parse error - {e}"))),
        }
    }
}
/// Extracts a [`FromFields`] type from a JSON body: 415 / 413 / 400 as [`JsonObject`], then
/// 400 with one key per bad field.
#[derive(Debug, Clone)]
pub struct Form<T>(pub T);

impl<S, T> FromRequest<S> for Form<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: FromFields,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let currency = AppState::from_ref(state).settings.currency;
        let JsonObject(map) = JsonObject::from_request(request, state).await?;
        read(map, currency).map(Form)
    }
}

/// Reads a [`FromFields`] type from `map`: the value, or 400 with one key per bad field (the
/// API's bodies and the dashboard's forms read the same way, so they give the same errors).
pub fn read<T: FromFields>(map: Map<String, Value>, currency: Currency) -> Result<T, ApiError> {
    let mut fields = Fields::new(map, currency);
    let value = T::from_fields(&mut fields);
    fields.finish()?;
    value.ok_or_else(|| bad_request("The request body is not valid."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("Application/JSON"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("application/jsonx"));
    }
}
