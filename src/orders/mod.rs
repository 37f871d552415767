//! Orders: checkout from the cart ([`service`]), the status lifecycle with cancellation and the
//! expiry of unpaid orders ([`lifecycle`]), and stock alerts to staff ([`alerts`]).

pub mod alerts;
pub mod invoice;
pub mod invoice_row;
pub mod lifecycle;
pub mod order;
pub mod order_item;
pub mod routes;
pub mod service;
pub mod store;
pub mod views;

use axum::Router;
use axum::routing::{get, patch, post};

use crate::http::route;
use crate::state::AppState;

/// The routes of `/api/orders/`.
pub fn router() -> Router<AppState> {
    let mut router = route(Router::new(), "/api/orders/", get(routes::list_orders));
    router = route(router, "/api/orders/create/", post(routes::create_order));
    router = route(router, "/api/orders/{id}/", get(routes::get_order));
    router = route(router, "/api/orders/{id}/invoice/", get(routes::invoice));
    router = route(
        router,
        "/api/orders/{id}/cancel/",
        post(routes::cancel_order),
    );
    route(
        router,
        "/api/orders/{id}/status/",
        patch(routes::change_status),
    )
}

/// The orders' jobs: the expiry of unpaid orders, stock alerts, invoices.
pub fn register_jobs(registry: &mut crate::jobs::Registry) {
    registry.register(lifecycle::EXPIRE_JOB, lifecycle::expire_job);
    registry.register(alerts::STOCK_ALERT_JOB, alerts::stock_alert_job);
    registry.register(invoice::INVOICE_JOB, invoice::invoice_job_handler);
}
