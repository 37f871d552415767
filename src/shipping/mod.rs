//! Shipping: staff-defined zones (countries, optionally narrowed to regions — the narrower
//! zone winning) and their methods (flat, or by weight bands; free over a subtotal), the
//! methods that reach a destination priced for a cart, and the rules of a method's price.

pub mod method;
pub mod methods;
pub mod reach;
pub mod routes;
pub mod rules;
pub mod service;
pub mod store;
pub mod views;
pub mod zone;
pub mod zone_area;

use axum::Router;
use axum::routing::{get, post};

use crate::http::route;
use crate::idempotency::once;
use crate::state::AppState;

/// The staff routes of `/api/shipping/zones/` and `/api/shipping/methods/`.
pub fn router() -> Router<AppState> {
    let router = route(
        Router::new(),
        "/api/shipping/zones/",
        get(routes::list_zones).merge(once(post(routes::create_zone), "shipping.zones.create")),
    );
    let router = route(
        router,
        "/api/shipping/zones/{id}/",
        get(routes::get_zone)
            .patch(routes::update_zone)
            .delete(routes::delete_zone),
    );
    let router = route(
        router,
        "/api/shipping/methods/",
        get(routes::list_methods)
            .merge(once(post(routes::create_method), "shipping.methods.create")),
    );
    route(
        router,
        "/api/shipping/methods/{id}/",
        get(routes::get_method)
            .patch(routes::update_method)
            .delete(routes::delete_method),
    )
}
