//! Outgoing webhooks: the endpoints staff register, their signing secrets (encrypted at rest,
//! rotated with a day's overlap), the `Emporium-Signature` header, the rules of where a
//! delivery may go, and the deliveries: made from the outbox's events by the dispatcher, sent
//! by the delivery pool on every worker, retried on a schedule, logged for staff.

pub mod delivery;
pub mod delivery_store;
pub mod dispatch;
pub mod endpoint;
pub mod outcome;
pub mod pool;
pub mod prune;
pub mod routes;
pub mod safe_url;
pub mod schedule;
pub mod secret;
pub mod sender;
pub mod service;
pub mod signature;
pub mod store;
pub mod views;

pub use safe_url::{UrlProblem, check_url};
pub use service::signing_secrets;
pub use signature::signature_header;

use axum::Router;
use axum::routing::{get, post};

use crate::http::error::internal;
use crate::http::route;
use crate::idempotency::{Seal, once_sealed};
use crate::state::AppState;

/// A creation's answer shows the new secret: the record a retry is answered from keeps it
/// encrypted, as the endpoint's row does.
const SEALED: Seal = Seal {
    seal: |state, text| Ok(service::cipher(&state.settings).encrypt(text)),
    open: |state, stored| {
        service::cipher(&state.settings)
            .decrypt(stored)
            .map_err(|_| internal("a kept answer could not be decrypted"))
    },
};

/// The staff routes of `/api/webhooks/`.
pub fn router() -> Router<AppState> {
    let router = route(
        Router::new(),
        "/api/webhooks/",
        get(routes::list_webhooks).merge(once_sealed(
            post(routes::create_webhook),
            "webhooks.create",
            SEALED,
        )),
    );
    let router = route(
        router,
        "/api/webhooks/{id}/",
        get(routes::get_webhook)
            .patch(routes::update_webhook)
            .delete(routes::delete_webhook),
    );
    let router = route(
        router,
        "/api/webhooks/{id}/rotate-secret/",
        post(routes::rotate_secret),
    );
    let router = route(
        router,
        "/api/webhooks/{id}/deliveries/",
        get(routes::list_deliveries),
    );
    let router = route(
        router,
        "/api/webhooks/{id}/deliveries/{delivery_id}/retry/",
        post(routes::retry_delivery),
    );
    route(router, "/api/webhooks/{id}/ping/", post(routes::ping))
}

/// Registers the webhooks' background loops: the dispatcher (events to deliveries) and the
/// delivery pool.
pub fn register_loops(registry: &mut crate::jobs::Registry) {
    registry
        .background("webhooks.dispatch", dispatch::run)
        .background("webhooks.deliver", pool::run);
}
