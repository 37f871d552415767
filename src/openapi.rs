//! The OpenAPI document of the whole application: every app's operations, gathered above the
//! apps (as `startup` assembles their routes), with the shared parts from `http::openapi`.

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;

use crate::http::openapi::{
    AlwaysPresent, AuthError, BearerAuth, ConventionResponses, CreatedLinks, EnumNames,
    ErrorDetail, FieldMessages, PagesByReference, RequestRules, ResponseHeaders, Timestamps,
    TypedText, ValidationErrors,
};
use crate::money::Currency;

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Emporium",
        description = "The REST API of a shop, for its mobile app. Conventions: JSON bodies with \
            snake_case keys; money as decimal strings in the shop's currency; RFC 3339 UTC times; \
            paginated lists `{count, next, previous, results}`; errors `{\"detail\"}` or one key \
            per field.",
    ),
    paths(
        crate::http::ops::health,
        crate::http::ops::ready,
        crate::jobs::routes::list_jobs,
        crate::jobs::routes::retry_job,
        crate::accounts::routes::register,
        crate::accounts::routes::login,
        crate::accounts::routes::refresh,
        crate::accounts::routes::logout,
        crate::accounts::routes::me,
        crate::accounts::routes::update_me,
        crate::accounts::routes::change_password,
        crate::accounts::routes::reset_password,
        crate::accounts::routes::confirm_password_reset,
        crate::accounts::routes::list_addresses,
        crate::accounts::routes::create_address,
        crate::accounts::routes::get_address,
        crate::accounts::routes::update_address,
        crate::accounts::routes::delete_address,
        crate::catalog::routes::categories::list_categories,
        crate::catalog::routes::categories::get_category,
        crate::catalog::routes::categories::create_category,
        crate::catalog::routes::categories::update_category,
        crate::catalog::routes::categories::delete_category,
        crate::catalog::routes::products::list_products,
        crate::catalog::routes::discovery::product_facets,
        crate::catalog::routes::discovery::suggest,
        crate::catalog::routes::products::get_product,
        crate::catalog::routes::products::create_product,
        crate::catalog::routes::products::update_product,
        crate::catalog::routes::products::delete_product,
        crate::catalog::routes::images::upload_image,
        crate::catalog::routes::images::delete_image,
        crate::catalog::routes::stock::adjust_stock,
        crate::catalog::routes::stock::list_movements,
        crate::catalog::routes::variants::list_variants,
        crate::catalog::routes::variants::create_variant,
        crate::catalog::routes::variants::update_variant,
        crate::catalog::routes::variants::delete_variant,
        crate::catalog::routes::variants::adjust_variant_stock,
        crate::catalog::routes::variants::list_variant_movements,
        crate::cart::routes::get_cart,
        crate::cart::routes::add,
        crate::cart::routes::update,
        crate::cart::routes::remove,
        crate::cart::routes::apply_coupon,
        crate::cart::routes::remove_coupon,
        crate::cart::routes::shipping_methods,
        crate::cart::routes::choose_shipping,
        crate::coupons::routes::list_coupons,
        crate::coupons::routes::create_coupon,
        crate::coupons::routes::get_coupon,
        crate::coupons::routes::update_coupon,
        crate::coupons::routes::delete_coupon,
        crate::shipping::routes::list_zones,
        crate::shipping::routes::create_zone,
        crate::shipping::routes::get_zone,
        crate::shipping::routes::update_zone,
        crate::shipping::routes::delete_zone,
        crate::shipping::routes::list_methods,
        crate::shipping::routes::create_method,
        crate::shipping::routes::get_method,
        crate::shipping::routes::update_method,
        crate::shipping::routes::delete_method,
        crate::tax::routes::list_rates,
        crate::tax::routes::create_rate,
        crate::tax::routes::get_rate,
        crate::tax::routes::update_rate,
        crate::tax::routes::delete_rate,
        crate::webhooks::routes::list_webhooks,
        crate::webhooks::routes::create_webhook,
        crate::webhooks::routes::get_webhook,
        crate::webhooks::routes::update_webhook,
        crate::webhooks::routes::delete_webhook,
        crate::webhooks::routes::rotate_secret,
        crate::webhooks::routes::list_deliveries,
        crate::webhooks::routes::retry_delivery,
        crate::webhooks::routes::ping,
        crate::orders::routes::create_order,
        crate::orders::routes::list_orders,
        crate::orders::routes::get_order,
        crate::orders::routes::cancel_order,
        crate::orders::routes::change_status,
        crate::orders::routes::invoice,
        crate::reviews::routes::list_reviews,
        crate::reviews::routes::create_review,
        crate::reviews::routes::update_review,
        crate::reviews::routes::delete_review,
        crate::payments::routes::create_intent,
        crate::payments::routes::webhook,
        crate::payments::routes::confirm,
        crate::payments::routes::razorpay_verify,
    ),
    components(schemas(
        ErrorDetail, AuthError, ValidationErrors, FieldMessages,
        crate::catalog::products::ProductOrdering,
    )),
    modifiers(
        &BearerAuth, &ConventionResponses, &ResponseHeaders, &RequestRules, &PagesByReference,
        &Timestamps, &TypedText, &EnumNames, &AlwaysPresent, &CreatedLinks,
    ),
    tags(
        (name = "operations", description = "Health, readiness, metrics and the job queue"),
        (name = "accounts", description = "Registration, JWT login, profile, addresses, passwords"),
        (name = "catalog", description = "Categories, products, images, stock"),
        (name = "cart", description = "The user's cart on the server, priced from the catalog"),
        (name = "coupons", description = "Discount codes (staff)"),
        (name = "shipping", description = "Shipping zones and their methods (staff)"),
        (name = "tax", description = "Tax rates by country, region and tax class (staff)"),
        (name = "orders", description = "Checkout from the cart, the order lifecycle"),
        (name = "reviews", description = "Reviews and ratings by buyers"),
        (name = "payments", description = "Payment intents, provider webhooks"),
        (name = "webhooks", description = "Outgoing webhook endpoints and their signing secrets (staff)"),
    ),
)]
pub struct ApiDoc;

/// The document for a shop in `currency`: price fields carry the pattern of its minor digits
/// (`"19.99"` in USD, `"500"` in JPY, `"1.250"` in KWD).
pub fn document(currency: Currency) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    let mut doc = ApiDoc::openapi();
    let digits = currency.minor_digits();
    let pattern = if digits == 0 {
        "^[0-9]{1,15}$".to_owned()
    } else {
        format!("^[0-9]{{1,15}}(\\.[0-9]{{1,{digits}}})?$")
    };
    if let Some(components) = doc.components.as_mut() {
        let money_fields = [
            ("ProductRequest", "price"),
            ("ProductChanges", "price"),
            ("CouponRequest", "min_order_amount"),
            ("CouponChanges", "min_order_amount"),
        ];
        for (name, field) in money_fields {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name)
                && let Some(RefOr::T(Schema::Object(price))) = object.properties.get_mut(field)
            {
                price.pattern = Some(pattern.clone());
            }
        }
    }
    doc
}

/// The document of a shop in the default currency (USD), as `emporium openapi` prints it and
/// `docs/openapi.json` keeps it.
pub fn document_json() -> String {
    document(Currency::USD).to_pretty_json().unwrap_or_default()
}

/// `GET /api/schema` (the canonical `/api/schema/` is served by the docs page with the same
/// document): the document of this shop's currency.
pub fn schema_route(
    doc: &utoipa::openapi::OpenApi,
) -> axum::routing::MethodRouter<crate::state::AppState> {
    let json: std::sync::Arc<str> = doc.to_pretty_json().unwrap_or_default().into();
    axum::routing::get(move || {
        let json = json.clone();
        async move {
            (
                [(header::CONTENT_TYPE, "application/json")],
                json.to_string(),
            )
                .into_response()
        }
    })
}

/// The whole document's rules, checked on the assembled document.
#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
