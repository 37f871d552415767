//! Coupons: staff-managed discount codes (a percentage or a fixed amount) with a minimum order,
//! dates of validity and limits of use in all and per user. A cart checks its coupon on every
//! read; an order redeems it with conditional updates ([`service::redeem`]), and a cancelled
//! order gives the use back ([`service::release`]).

pub mod coupon;
pub mod coupon_use;
pub mod routes;
pub mod rules;
pub mod service;
pub mod store;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::http::route;
use crate::idempotency::once;
use crate::state::AppState;

/// The staff routes of `/api/coupons/`.
pub fn router() -> Router<AppState> {
    let router = route(
        Router::new(),
        "/api/coupons/",
        get(routes::list_coupons).merge(once(post(routes::create_coupon), "coupons.create")),
    );
    route(
        router,
        "/api/coupons/{id}/",
        get(routes::get_coupon)
            .patch(routes::update_coupon)
            .delete(routes::delete_coupon),
    )
}
