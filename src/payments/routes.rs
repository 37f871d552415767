//! Thin handlers of `/api/payments/`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::provider::Provider;
use super::views::{Confirm, CreateIntent, Outcome, PaymentView, RazorpayVerify};
use super::{events, intents};
use crate::auth::AuthUser;
use crate::http::ApiResult;
use crate::http::error::not_found;
use crate::http::extract::{Form, IdempotencyKey};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::idempotency::{self, Keyed};
use crate::state::AppState;

/// What applying a provider's event needs, from the state.
fn events_context<'a>(state: &'a AppState, provider: &'a Provider) -> events::Context<'a> {
    events::Context {
        db: &state.db,
        cache: &state.cache,
        provider,
        shop: &state.settings.shop_name,
    }
}

/// The scope of create-intent's idempotency keys.
const CREATE_SCOPE: &str = "payments.create_intent";

/// The payment intent of one of your unpaid orders: made once per order, its amount the
/// order's. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/payments/create-intent/", tag = "payments", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = CreateIntent,
    responses(
        (status = 201, description = "The intent (the same one for every call on the order)", body = PaymentView),
        (status = 404, description = "No such order, or another user's", body = ErrorDetail),
        (status = 409, description = "The order is paid or cancelled", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_intent(
    State(state): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    Form(request): Form<CreateIntent>,
) -> ApiResult<Response> {
    let order_id = request.order_id.hyphenated().to_string();
    let keyed = key.map(|key| {
        Keyed::new(
            user.id(),
            CREATE_SCOPE,
            &key,
            &json!({"order_id": order_id}),
        )
    });
    if let Some(keyed) = &keyed
        && let Some(stored) = idempotency::find(&state.db, keyed).await?
    {
        return Ok(stored.into_response());
    }
    let provider = Provider::from_settings(&state.settings);
    let payment = intents::create_intent(&state.db, &provider, user.id(), &order_id).await?;
    let checkout = provider.checkout(&payment);
    let view = PaymentView::new(payment, checkout);
    if let Some(keyed) = &keyed {
        let body = serde_json::to_string(&view).map_err(crate::http::error::internal)?;
        if let Err(e) = idempotency::save(&state.db, keyed, 201, &body).await
            && !crate::db::is_unique_violation(&e)
        {
            return Err(e.into());
        }
    }
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Provider events (no JWT): the signature (`Stripe-Signature`) is checked over the raw body
/// before anything is read; each event applies once.
#[utoipa::path(post, path = "/api/payments/webhook/", tag = "payments",
    params(
        ("Stripe-Signature" = Option<String>, Header, description = "Stripe and dummy: t=…,v1=…"),
        ("X-Razorpay-Signature" = Option<String>, Header, description = "Razorpay: hex HMAC-SHA256 of the body"),
    ),
    request_body(content = serde_json::Value, description = "the provider's event, as it sent it"),
    responses(
        (status = 200, description = "Received (applied now, or before)"),
        (status = 400, description = "Missing, wrong, stale or tampered signature; unreadable event", body = ErrorDetail),
    ))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let provider = Provider::from_settings(&state.settings);
    events::receive(events_context(&state, &provider), &headers, &body).await?;
    Ok(Json(json!({"received": true})))
}

/// Succeed or fail a payment of the offline `dummy` provider (its owner only): the outcome
/// arrives as a signed webhook through the same path as a real provider's.
#[utoipa::path(post, path = "/api/payments/{payment_id}/confirm/", tag = "payments", security(("jwt" = [])),
    params(("payment_id" = String, Path, description = "a UUID")),
    request_body = Confirm,
    responses(
        (status = 200, description = "The payment afterwards", body = PaymentView),
        (status = 400, description = "Unknown outcome", body = ValidationErrors),
        (status = 404, description = "No such payment of yours, or another provider", body = ErrorDetail),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    user: AuthUser,
    Path(payment_id): Path<String>,
    Form(request): Form<Confirm>,
) -> ApiResult<Json<PaymentView>> {
    let payment_id = uuid::Uuid::parse_str(&payment_id)
        .ok()
        .filter(|_| payment_id.len() == 36)
        .map(|id| id.hyphenated().to_string())
        .ok_or_else(not_found)?;
    let provider = Provider::from_settings(&state.settings);
    let payment = intents::confirm_dummy(
        events_context(&state, &provider),
        user.id(),
        &payment_id,
        request.outcome == Outcome::Succeeded,
    )
    .await?;
    let checkout = provider.checkout(&payment);
    Ok(Json(PaymentView::new(payment, checkout)))
}

/// Razorpay Checkout's result from the app: the signature (HMAC-SHA256 of
/// `order_id|payment_id` with the key secret) is checked, and the payment applied as captured.
#[utoipa::path(post, path = "/api/payments/razorpay/verify/", tag = "payments", security(("jwt" = [])),
    request_body = RazorpayVerify,
    responses(
        (status = 200, description = "The payment afterwards", body = PaymentView),
        (status = 400, description = "The signature does not match", body = ValidationErrors),
        (status = 404, description = "No such payment of yours, or another provider", body = ErrorDetail),
    ))]
pub async fn razorpay_verify(
    State(state): State<AppState>,
    user: AuthUser,
    Form(request): Form<RazorpayVerify>,
) -> ApiResult<Json<PaymentView>> {
    let provider = Provider::from_settings(&state.settings);
    let payment = events::verify_checkout(
        events_context(&state, &provider),
        user.id(),
        &request.razorpay_order_id,
        &request.razorpay_payment_id,
        &request.razorpay_signature,
    )
    .await?;
    let checkout = provider.checkout(&payment);
    Ok(Json(PaymentView::new(payment, checkout)))
}
