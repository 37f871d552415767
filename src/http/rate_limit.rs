//! The API's request rate limits, as Django REST Framework's `AnonRateThrottle` and
//! `UserRateThrottle` apply them: a request with a valid access token counts against its user
//! (`EMPORIUM_THROTTLE_USER`), any other against its client address (`EMPORIUM_THROTTLE_ANON`,
//! IPv6 per /64). Counted first, then decided; over the rate → `429` with `Retry-After`.
//!
//! Only paths under `/api/` are limited, and never the payment webhooks (a provider retrying
//! must get through); `/health/`, `/ready/`, `/metrics` and `/media/` are outside `/api/`.
//! When the shared counter store (Redis) does not answer, requests are let through and the
//! failure is logged: an outage of the limiter must not become an outage of the shop.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::context::RequestContext;
use super::error::ApiError;
use crate::auth::tokens::TokenType;
use crate::state::AppState;
use crate::throttle::client_key;

/// Paths that are never limited.
fn exempt(path: &str) -> bool {
    !path.starts_with("/api/") || matches!(path, "/api/payments/webhook/" | "/api/payments/webhook")
}

/// The user id of a valid bearer access token, if the request carries one.
fn token_user(state: &AppState, request: &Request) -> Option<i64> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let claims = state.tokens.verify(token.trim(), TokenType::Access).ok()?;
    Some(claims.user_id)
}

/// Middleware: counts the request against its user or client address.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let settings = &state.settings;
    let (key, rate) = match token_user(&state, &request) {
        Some(user_id) => (format!("rate:user:{user_id}"), settings.throttle_user),
        None => {
            let Some(ip) = request
                .extensions()
                .get::<RequestContext>()
                .map(|c| c.client_ip)
            else {
                return next.run(request).await;
            };
            (
                format!("rate:anon:{}", client_key(ip)),
                settings.throttle_anon,
            )
        }
    };
    let Some(rate) = rate else {
        return next.run(request).await;
    };
    match state.rate_limits.hit(&key, rate.period).await {
        Ok(window) if window.count > rate.limit => ApiError::Throttled {
            retry_after: window.retry_after,
        }
        .into_response(),
        Ok(_) => next.run(request).await,
        Err(error) => {
            tracing::warn!(%error, "rate limit not applied: the counter store did not answer");
            next.run(request).await
        }
    }
}
