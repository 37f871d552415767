//! Serving stored media at `/media/`: the storage layer keeps files; this is its one handler.

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, not_found};
use crate::state::AppState;
use crate::storage::is_valid_key;

/// `GET /media/{*key}`: serves stored files with their media type. Only exact keys are served:
/// no directory listings, and a key with `..` or other odd segments is a 404; a store that does
/// not answer is a 503.
pub async fn serve_media(
    State(state): State<AppState>,
    UrlPath(key): UrlPath<String>,
) -> Result<Response, ApiError> {
    if !is_valid_key(&key) {
        return Err(not_found());
    }
    let stored = state.storage.get(&key).await?.ok_or_else(not_found)?;
    let mut response = (StatusCode::OK, Body::from(stored.bytes)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(stored.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
