//! Payments: an intent per order through the configured provider (the offline `dummy`, Stripe
//! or Razorpay, behind one [`provider::Provider`]) in [`intents`]; provider events verified and
//! applied exactly once in [`events`]; refunds and the verification of payments no webhook
//! settled in [`refunds`] and [`verify`].
//!
//! Its face to other apps is [`refund_if_paid`] (orders, cancelling); it tells orders what
//! happened through `orders::payment_changed` and never touches the orders' tables.

pub mod events;
pub mod intents;
pub mod news;
pub mod payment;
pub mod payment_claim;
pub mod payment_event;
pub mod payment_refund;
pub mod provider;
pub mod provider_refunds;
pub mod refunds;
pub mod routes;
pub mod signature;
pub mod staff;
pub mod store;
pub mod verify;
pub mod views;

pub use refunds::refund_if_paid;

use axum::Router;
use axum::routing::post;

use crate::http::route;
use crate::state::AppState;

/// The routes of `/api/payments/`.
pub fn router() -> Router<AppState> {
    let mut router = route(
        Router::new(),
        "/api/payments/create-intent/",
        post(routes::create_intent),
    );
    router = route(router, "/api/payments/webhook/", post(routes::webhook));
    router = route(
        router,
        "/api/payments/razorpay/verify/",
        post(routes::razorpay_verify),
    );
    route(
        router,
        "/api/payments/{payment_id}/confirm/",
        post(routes::confirm),
    )
}
