//! Thin handlers of `/api/cart/`: every change answers with the whole cart, priced from the
//! catalog as it is now.

use axum::Json;
use axum::extract::{Query, State};

use super::views::shipping::{ChooseShipping, DestinationQuery, ShippingMethodView};
use super::views::{AddToCart, ApplyCoupon, CartView, RemoveFromCart, UpdateCartLine};
use super::{service, shipping};
use crate::auth::AuthUser;
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::error::field_error;
use crate::http::extract::Form;
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::state::AppState;
use crate::throttle::Limiter;

/// The user's cart as the response to every cart endpoint.
async fn cart(
    state: &AppState,
    context: &RequestContext,
    user_id: i64,
) -> ApiResult<Json<CartView>> {
    let currency = state.settings.currency;
    let rules = service::TaxRules::of(&state.settings.tax);
    let priced = service::read(&state.db, &state.cache, currency, rules, user_id).await?;
    Ok(Json(CartView::new(
        priced,
        currency,
        &state.storage,
        &context.base_url,
    )))
}

/// The user's cart; lines whose product became inactive or short of stock are shown as such
/// and left out of the totals; the coupon is checked again.
#[utoipa::path(get, path = "/api/cart/", tag = "cart", security(("jwt" = [])),
    responses(
        (status = 200, description = "The cart", body = CartView),
        (status = 401, description = "Not authenticated", body = ErrorDetail),
    ))]
pub async fn get_cart(
    State(state): State<AppState>,
    context: RequestContext,
    user: AuthUser,
) -> ApiResult<Json<CartView>> {
    cart(&state, &context, user.id()).await
}

/// Add a product; the quantity adds to what the cart holds. Prices come from the catalog.
#[utoipa::path(post, path = "/api/cart/add/", tag = "cart", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = AddToCart,
    responses(
        (status = 200, description = "The cart", body = CartView),
        (status = 400, description = "Unknown or inactive product or variant; `variant_id` missing for a product with several; quantity below 1, above the stock (\"Only 3 left in stock.\") or the limit; too many different products", body = ValidationErrors),
        (status = 401, description = "Not authenticated", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn add(
    State(state): State<AppState>,
    context: RequestContext,
    user: AuthUser,
    Form(request): Form<AddToCart>,
) -> ApiResult<Json<CartView>> {
    service::add(
        &state.db,
        &state.cache,
        &state.settings.cart,
        user.id(),
        request.target,
        request.quantity.unwrap_or(1),
    )
    .await?;
    cart(&state, &context, user.id()).await
}

/// Set the quantity of a product in the cart; 0 removes it.
#[utoipa::path(patch, path = "/api/cart/update/", tag = "cart", security(("jwt" = [])),
    request_body = UpdateCartLine,
    responses(
        (status = 200, description = "The cart", body = CartView),
        (status = 400, description = "As for add", body = ValidationErrors),
        (status = 404, description = "Product not in cart", body = ErrorDetail),
    ))]
pub async fn update(
    State(state): State<AppState>,
    context: RequestContext,
    user: AuthUser,
    Form(request): Form<UpdateCartLine>,
) -> ApiResult<Json<CartView>> {
    service::update(
        &state.db,
        &state.settings.cart,
        user.id(),
        request.target,
        request.quantity,
    )
    .await?;
    cart(&state, &context, user.id()).await
}

/// Remove a variant from the cart: `variant_id` (or a single-variant product's `product_id`)
/// in the body or the query.
#[utoipa::path(delete, path = "/api/cart/remove/", tag = "cart", security(("jwt" = [])),
    params(
        ("product_id" = Option<i64>, Query, description = "instead of the body"),
        ("variant_id" = Option<i64>, Query, description = "instead of the body"),
    ),
    request_body(content = Option<RemoveFromCart>, description = "optional: or `?variant_id=` / `?product_id=`"),
    responses(
        (status = 200, description = "The cart", body = CartView),
        (status = 400, description = "Neither product_id nor variant_id; `variant_id` missing for a product with several", body = ValidationErrors),
        (status = 404, description = "Product not in cart", body = ErrorDetail),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    context: RequestContext,
    user: AuthUser,
    request: RemoveFromCart,
) -> ApiResult<Json<CartView>> {
    service::remove(&state.db, user.id(), request.target).await?;
    cart(&state, &context, user.id()).await
}

/// Apply a coupon; 400 under `code` says why one does not apply. Codes that do not apply are
/// counted per user (`EMPORIUM_THROTTLE_COUPON`; 429 past it).
#[utoipa::path(post, path = "/api/cart/coupon/", tag = "cart", security(("jwt" = [])),
    request_body = ApplyCoupon,
    responses(
        (status = 200, description = "The cart with the discount", body = CartView),
        (status = 400, description = "Unknown, inactive, not yet valid, expired, used up, or the minimum is not met", body = ValidationErrors),
        (status = 429, description = "Too many codes that did not apply", body = ErrorDetail),
    ))]
pub async fn apply_coupon(
    State(state): State<AppState>,
    context: RequestContext,
    user: AuthUser,
    Form(request): Form<ApplyCoupon>,
) -> ApiResult<Json<CartView>> {
    let failures = state
        .settings
        .cart
        .coupon_failures
        .map(|rate| service::CouponFailures {
            limiter: Limiter {
                store: &state.throttle,
                rate,
            },
            client: crate::throttle::client_key(context.client_ip),
        });
    service::apply_coupon(
        &state.db,
        failures,
        state.settings.currency,
        user.id(),
        &request.code,
    )
    .await?;
    cart(&state, &context, user.id()).await
}

/// Take the coupon off the cart.
#[utoipa::path(delete, path = "/api/cart/coupon/", tag = "cart", security(("jwt" = [])),
    responses(
        (status = 200, description = "The cart without a coupon", body = CartView),
        (status = 401, description = "Not authenticated", body = ErrorDetail),
    ))]
pub async fn remove_coupon(
    State(state): State<AppState>,
    context: RequestContext,
    user: AuthUser,
) -> ApiResult<Json<CartView>> {
    service::remove_coupon(&state.db, user.id()).await?;
    cart(&state, &context, user.id()).await
}

/// The active shipping methods that reach a destination — one of the user's addresses, or a
/// country and region — each priced for this cart now, cheapest first; `[]` when no zone
/// covers it.
#[utoipa::path(get, path = "/api/cart/shipping-methods/", tag = "cart", security(("jwt" = [])),
    params(DestinationQuery),
    responses(
        (status = 200, description = "The methods, cheapest first", body = Vec<ShippingMethodView>),
        (status = 400, description = "No destination, an unknown country or another user's address", body = ValidationErrors),
        (status = 401, description = "Not authenticated", body = ErrorDetail),
    ))]
pub async fn shipping_methods(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<DestinationQuery>,
) -> ApiResult<Json<Vec<ShippingMethodView>>> {
    let asked = query
        .asked()
        .map_err(|(field, message)| field_error(field, message))?;
    let currency = state.settings.currency;
    let rules = service::TaxRules::of(&state.settings.tax);
    let methods =
        shipping::methods(&state.db, &state.cache, currency, rules, user.id(), asked).await?;
    Ok(Json(
        methods
            .iter()
            .map(|m| ShippingMethodView::new(m, currency))
            .collect(),
    ))
}

/// Choose where the cart goes and how: the cart then shows its shipping and tax. A method
/// that does not reach the address (or cannot take the cart's weight) → 400 on `method_id`.
#[utoipa::path(put, path = "/api/cart/shipping/", tag = "cart", security(("jwt" = [])),
    request_body = ChooseShipping,
    responses(
        (status = 200, description = "The cart with its shipping and tax", body = CartView),
        (status = 400, description = "An invalid address, another user's address, or a method that does not reach it", body = ValidationErrors),
        (status = 401, description = "Not authenticated", body = ErrorDetail),
    ))]
pub async fn choose_shipping(
    State(state): State<AppState>,
    context: RequestContext,
    user: AuthUser,
    Form(request): Form<ChooseShipping>,
) -> ApiResult<Json<CartView>> {
    let rules = service::TaxRules::of(&state.settings.tax);
    shipping::choose(&state.db, &state.cache, rules, user.id(), request).await?;
    cart(&state, &context, user.id()).await
}
