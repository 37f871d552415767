//! Extractors from the request head: integer ids from the path ([`PathId`], [`PathIds`]) and the
//! `Idempotency-Key` header ([`IdempotencyKey`]).

use crate::http::error::{ApiError, bad_request};

/// An integer id from the path (the route's only parameter, or its last); anything that is not
/// an id is a 404, as DRF answers for a URL that matches nothing.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| crate::http::error::not_found())?;
        params
            .iter()
            .last()
            .and_then(|(_, value)| value.parse::<i64>().ok())
            .map(PathId)
            .ok_or_else(crate::http::error::not_found)
    }
}

/// Every parameter of the path as an integer; a 404 when one is not.
async fn path_ids<S: Send + Sync>(
    parts: &mut axum::http::request::Parts,
    state: &S,
) -> Result<Vec<i64>, ApiError> {
    use axum::extract::FromRequestParts;
    let params = axum::extract::RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| crate::http::error::not_found())?;
    params
        .iter()
        .map(|(_, value)| value.parse::<i64>().ok())
        .collect::<Option<_>>()
        .ok_or_else(crate::http::error::not_found)
}

/// The two integer ids of a nested path (`/parents/{id}/children/{child_id}/`): the first and
/// the last parameter; anything that is not an id is a 404.
#[derive(Debug, Clone, Copy)]
pub struct PathIds(pub i64, pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match path_ids(parts, state).await?.as_slice() {
            [first, .., last] => Ok(PathIds(*first, *last)),
            _ => Err(crate::http::error::not_found()),
        }
    }
}

/// The optional `Idempotency-Key` header: 1 to 100 visible characters, or a 400. Every
/// mutating endpoint that honours retries reads it here.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

/// Longest `Idempotency-Key` accepted.
pub const IDEMPOTENCY_KEY_MAX: usize = 100;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all("idempotency-key").iter();
        let Some(value) = values.next() else {
            return Ok(IdempotencyKey(None));
        };
        let refused = || {
            bad_request(format!(
                "Idempotency-Key must be one header of 1 to {IDEMPOTENCY_KEY_MAX} visible characters."
            ))
        };
        if values.next().is_some() {
            return Err(refused());
        }
        match value.to_str().map(str::trim) {
            Ok(key)
                if !key.is_empty()
                    && key.len() <= IDEMPOTENCY_KEY_MAX
                    && key.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Ok(IdempotencyKey(Some(key.to_owned())))
            }
            _ => Err(refused()),
        }
    }
}
