//! Why a checkout is refused, as the client reads it: an empty cart, a cart changed while the
//! order was being placed, lines short of stock (409 with each), a coupon code that is none.

use serde_json::{Map, json};

use crate::catalog::inventory::Shortage;
use crate::coupons::rules::Refusal;
use crate::http::error::{ApiError, field_error};
use crate::money::Currency;

/// 400: nothing to order.
pub(super) fn empty_cart() -> ApiError {
    ApiError::BadRequest("Your cart is empty.".to_owned())
}

/// 400: the cart changed after the checkout was asked for.
pub(super) fn changed_cart() -> ApiError {
    ApiError::BadRequest(
        "Your cart changed while the order was being placed; nothing was ordered. Review it and place the order again.".to_owned(),
    )
}

/// 409 with every line that cannot be had.
pub(super) fn short(lines: &[Shortage]) -> ApiError {
    let items: Vec<_> = lines
        .iter()
        .map(|s| json!({"product_id": s.product_id, "variant_id": s.variant_id, "requested": s.requested, "available": s.available}))
        .collect();
    let mut extra = Map::new();
    extra.insert("items".to_owned(), json!(items));
    ApiError::Conflict {
        detail: "Some products do not have enough stock; nothing was ordered.".to_owned(),
        extra,
    }
}

/// 400 on `coupon_code`: no such coupon.
pub(super) fn unknown_coupon(currency: Currency) -> ApiError {
    field_error("coupon_code", Refusal::Unknown.message(currency))
}
