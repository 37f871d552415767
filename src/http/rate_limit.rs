//! The API's request rate limits, as Django REST Framework's `AnonRateThrottle` and
//! `UserRateThrottle` apply them: a request with a valid access token counts against its user
//! (`EMPORIUM_THROTTLE_USER`), any other against its client address (`EMPORIUM_THROTTLE_ANON`,
//! IPv6 per /64). Counted first, then decided; over the rate → `429` with `Retry-After`.
//!
//! Only paths under `/api/` are limited, and never the payment webhooks (a provider retrying
//! must get through); `/health/`, `/ready/`, `/metrics` and `/media/` are outside `/api/`.
//! When the shared counter store (Redis) does not answer, requests are let through and the
//! failure is logged: an outage of the limiter must not become an outage of the shop.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::auth::tokens::TokenType;
use crate::state::AppState;
use crate::throttle::client_key;

/// Paths that are never limited.
fn exempt(path: &str) -> bool {
    !path.starts_with("/api/") || matches!(path, "/api/payments/webhook/" | "/api/payments/webhook")
}

/// The user id of a valid bearer access token, if the request carries one.
pub(super) fn token_user(state: &AppState, authorization: Option<&HeaderValue>) -> Option<i64> {
    let value = authorization?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let claims = state.tokens.verify(token.trim(), TokenType::Access).ok()?;
    Some(claims.user_id)
}

/// The counter a request is counted on (its user's, else its client address's) and the rate
/// that applies; `None` when it is not limited.
pub fn key(
    state: &AppState,
    request: &Request,
    client_ip: IpAddr,
) -> Option<(String, crate::throttle::Rate)> {
    if exempt(request.uri().path()) {
        return None;
    }
    let settings = &state.settings;
    if settings.throttle_user.is_none() && settings.throttle_anon.is_none() {
        return None;
    }
    match token_user(state, request.headers().get(header::AUTHORIZATION)) {
        Some(user_id) => Some((format!("rate:user:{user_id}"), settings.throttle_user?)),
        None => {
            let rate = settings.throttle_anon?;
            Some((format!("rate:anon:{}", client_key(client_ip)), rate))
        }
    }
}

/// Counts a request whose key and rate [`key`] found: `Some(429)` when over the rate.
pub async fn count(state: &AppState, key: &str, rate: crate::throttle::Rate) -> Option<Response> {
    match state.rate_limits.hit(key, rate.period).await {
        Ok(window) if window.count > rate.limit => Some(
            ApiError::Throttled {
                retry_after: window.retry_after,
            }
            .into_response(),
        ),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "rate limit not applied: the counter store did not answer");
            None
        }
    }
}
