//! Tax: staff-managed rates per country, region and tax class, and the one pricing function
//! ([`pricing::price`]) every amount of a cart and an order comes from.

pub mod classes;
pub mod lines;
pub mod lookup;
pub mod pricing;
pub mod rate;
pub mod routes;
pub mod service;
pub mod store;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::http::route;
use crate::idempotency::once;
use crate::state::AppState;

/// The staff routes of `/api/tax/rates/`.
pub fn router() -> Router<AppState> {
    let router = route(
        Router::new(),
        "/api/tax/rates/",
        get(routes::list_rates).merge(once(post(routes::create_rate), "tax.rates.create")),
    );
    route(
        router,
        "/api/tax/rates/{id}/",
        get(routes::get_rate)
            .patch(routes::update_rate)
            .delete(routes::delete_rate),
    )
}
