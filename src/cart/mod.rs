//! The cart: one per user, on the server. Lines hold a variant and a quantity, never a price:
//! every read prices them from the catalog, shows lines that can no longer be bought as such,
//! checks the cart's coupon again, and prices shipping and tax for the address and method the
//! user chose.

pub mod cart_item;
pub mod priced;
pub mod purge;
pub mod quote;
pub mod routes;
pub mod service;
pub mod shipping;
pub mod shopping_cart;
pub mod store;
pub mod views;

use axum::Router;
use axum::routing::{delete, get, patch, post, put};

use crate::http::route;
use crate::idempotency::once;
use crate::state::AppState;

/// The routes of `/api/cart/`.
pub fn router() -> Router<AppState> {
    let mut router = route(Router::new(), "/api/cart/", get(routes::get_cart));
    router = route(
        router,
        "/api/cart/add/",
        once(post(routes::add), "cart.add"),
    );
    router = route(router, "/api/cart/update/", patch(routes::update));
    router = route(router, "/api/cart/remove/", delete(routes::remove));
    router = route(
        router,
        "/api/cart/coupon/",
        post(routes::apply_coupon).delete(routes::remove_coupon),
    );
    router = route(
        router,
        "/api/cart/shipping-methods/",
        get(routes::shipping_methods),
    );
    route(router, "/api/cart/shipping/", put(routes::choose_shipping))
}
