//! Payments: an intent per order through the configured provider (the offline `dummy`, or
//! Stripe), provider events verified and applied exactly once, verification of payments no
//! webhook settled, refunds. Razorpay joins behind the same [`provider::Provider`].

pub mod payment;
pub mod payment_event;
pub mod provider;
pub mod routes;
pub mod service;
pub mod signature;
pub mod store;
pub mod views;

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

/// The payments' jobs: refunds, and verifications of payments no webhook settled.
pub fn register_jobs(registry: &mut crate::jobs::Registry) {
    registry.register(service::REFUND_JOB, service::refund);
    registry.register(service::VERIFY_JOB, service::verify);
}
