//! The OpenAPI document of the whole application: every app's operations, gathered above the
//! apps (as `startup` assembles their routes), with the shared parts from `http::openapi`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::http::openapi::{
    BearerAuth, ConventionResponses, CreatedLinks, ErrorDetail, ValidationErrors,
};

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
        crate::catalog::routes::list_categories,
        crate::catalog::routes::get_category,
        crate::catalog::routes::create_category,
        crate::catalog::routes::update_category,
        crate::catalog::routes::delete_category,
        crate::catalog::routes::list_products,
        crate::catalog::routes::get_product,
        crate::catalog::routes::create_product,
        crate::catalog::routes::update_product,
        crate::catalog::routes::delete_product,
        crate::catalog::routes::upload_image,
        crate::catalog::routes::delete_image,
    ),
    components(schemas(ErrorDetail, ValidationErrors)),
    modifiers(&BearerAuth, &ConventionResponses, &CreatedLinks),
    tags(
        (name = "operations", description = "Health, readiness, metrics and the job queue"),
        (name = "accounts", description = "Registration, JWT login, profile, addresses, passwords"),
        (name = "catalog", description = "Categories, products, images"),
    ),
)]
pub struct ApiDoc;

/// The document as served at `/api/schema/`, rendered once.
pub fn document_json() -> String {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default())
        .clone()
}

/// `GET /api/schema`: the OpenAPI 3 document, generated from the code.
pub async fn schema() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}
