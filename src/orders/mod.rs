//! Orders: checkout from the cart ([`service`]), the statuses and every allowed move
//! ([`status`]), cancellation and the expiry of unpaid orders ([`lifecycle`]), invoices
//! ([`invoice`]) and stock alerts to staff ([`alerts`]).
//!
//! Its face to payments is [`payable`] and [`payment_changed`] ([`settle`]) and
//! [`payment_refunded`] ([`refunded`]): payments never read or write the orders' tables.

pub mod alerts;
pub mod charges;
pub mod events;
pub mod invoice;
pub mod invoice_row;
pub mod lifecycle;
pub mod order;
pub mod order_item;
pub mod purchases;
pub mod refunded;
mod refusals;
pub mod routes;
pub mod service;
pub mod settle;
pub mod staff;
pub mod status;
pub mod store;
pub mod tally;
pub mod views;

pub use refunded::{FullRefund, payment_refunded};
pub use settle::{Payable, PaymentNews, payable, payment_changed};

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
