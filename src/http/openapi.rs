//! The OpenAPI document: every route's `#[utoipa::path]` and every view's schema, gathered here.

use std::sync::OnceLock;

use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// `{"detail": "…"}`, the body of every error that is not a field error.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A sentence for the user.
    #[schema(example = "Not found.")]
    pub detail: String,
}

/// `{"field": ["message", …], "non_field_errors": […]}`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"quantity": ["Ensure this value is greater than or equal to 1."]}))]
pub struct ValidationErrors(pub std::collections::BTreeMap<String, Vec<String>>);

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("jwt", SecurityScheme::Http(scheme));
    }
}

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
        super::ops::health,
        super::ops::ready,
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
    modifiers(&BearerAuth),
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
