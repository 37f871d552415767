//! Handlers of `/api/products/` and `/api/products/{id}/`: the list and one product (cached
//! except for staff), and staff's create, change and delete.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{cached, product_view, row_of, search, to_bytes};
use crate::auth::{MaybeAuthUser, StaffUser};
use crate::catalog::categories::CATEGORIES_SCOPE;
use crate::catalog::inventory::IN_STOCK_SCOPE;
use crate::catalog::products::{self, LISTING_SCOPE, ProductOrdering};
use crate::catalog::views::{ProductChanges, ProductRequest, ProductView};
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::error::bad_request;
use crate::http::extract::{Form, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::http::reads::Reader;
use crate::state::AppState;

/// Products: active ones for everybody but staff. Filters `category` (with its sub-categories),
/// `search`, `min_price`, `max_price`, `in_stock`; `ordering`.
#[utoipa::path(get, path = "/api/products/", tag = "catalog", security((), ("jwt" = [])),
    params(
        ("category" = Option<i64>, Query, description = "a category id; includes sub-categories"),
        ("search" = Option<String>, Query, description = "words in the name or description; without `ordering`, best matches first (more of the words, name above description, exact above stemmed above one-letter-off); the exact SKU of a variant finds its product"),
        ("min_price" = Option<String>, Query, description = "an active variant at this price or above"), ("max_price" = Option<String>, Query, description = "an active variant at this price or below"),
        ("in_stock" = Option<bool>, Query, description = "true: an active variant in stock (in the price range, with the options asked); false: none in stock"),
        ("option" = Option<Vec<String>>, Query, explode = true, description = "Name:Value, repeatable: an active variant with all of them"),
        ("sku" = Option<String>, Query, description = "a variant's SKU, whatever the case"),
        ("ordering" = Option<ProductOrdering>, Query, description = "default `-created_at`; with `search` and no ordering, by relevance"),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query),
    ),
    responses(
        (status = 200, description = "A page of products", body = Page<ProductView>),
        (status = 400, description = "A malformed filter or an unknown ordering", body = ValidationErrors),
    ))]
pub async fn list_products(
    State(state): State<AppState>,
    user: MaybeAuthUser,
    reader: Reader,
    context: RequestContext,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let currency = state.settings.currency;
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| bad_request("The query string is malformed."))?;
    let filter = products::parse_filter(&query, currency)?;
    let url = format!("{}{}", context.base_url, uri.path());
    let pagination = Pagination::from_query(url, query)?.normalized(filter.normal_query(currency));
    let staff = user.is_staff();
    let key = (!staff).then(|| pagination.cache_key("products"));
    let scopes: &[&'static str] = if filter.in_stock.is_some() {
        &[CATEGORIES_SCOPE, LISTING_SCOPE, IN_STOCK_SCOPE]
    } else {
        &[CATEGORIES_SCOPE, LISTING_SCOPE]
    };
    cached(&state, &reader, key, scopes, || async {
        let (count, rows) = products::list_products(
            reader.db(&state),
            &search(&state),
            &filter,
            staff,
            pagination.offset(),
            pagination.limit(),
        )
        .await?;
        let shown = rows.iter().map(row_of).collect();
        let views = rows
            .into_iter()
            .map(|row| product_view(&state, &context.base_url, row, staff))
            .collect();
        Ok((to_bytes(&pagination.page(count, views)?)?, shown))
    })
    .await
}

/// One product; an inactive one is a 404 except for staff.
#[utoipa::path(get, path = "/api/products/{id}/", tag = "catalog", security((), ("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn get_product(
    State(state): State<AppState>,
    user: MaybeAuthUser,
    reader: Reader,
    context: RequestContext,
    OriginalUri(uri): OriginalUri,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let staff = user.is_staff();
    let key = (!staff).then(|| format!("product {}{}", context.base_url, uri.path()));
    cached(&state, &reader, key, &[CATEGORIES_SCOPE], || async {
        let row = products::get_product(reader.db(&state), id, staff).await?;
        let shown = vec![row_of(&row)];
        Ok((
            to_bytes(&product_view(&state, &context.base_url, row, staff))?,
            shown,
        ))
    })
    .await
}

/// Create a product (staff).
#[utoipa::path(post, path = "/api/products/", tag = "catalog", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = ProductRequest,
    responses(
        (status = 201, description = "Created", body = ProductView),
        (status = 400, description = "Invalid field", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_product(
    State(state): State<AppState>,
    staff: StaffUser,
    context: RequestContext,
    Form(request): Form<ProductRequest>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    let reference = format!("user:{}", staff.0.id());
    let row = products::create_product(
        &state.db,
        &state.cache,
        state.settings.search_language,
        request.into(),
        reference,
        super::showing(&state, &context.base_url),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(product_view(&state, &context.base_url, row, true)),
    ))
}

/// Change a product (staff).
#[utoipa::path(patch, path = "/api/products/{id}/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path)), request_body = ProductChanges,
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 400, description = "Invalid field; `price` or `stock` of a product with several variants", body = ValidationErrors),
        (status = 404, description = "Not found", body = ErrorDetail),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "An option value or option that variants use would be removed", body = ErrorDetail),
    ))]
pub async fn update_product(
    State(state): State<AppState>,
    staff: StaffUser,
    context: RequestContext,
    PathId(id): PathId,
    Form(changes): Form<ProductChanges>,
) -> ApiResult<Json<ProductView>> {
    let reference = format!("user:{}", staff.0.id());
    let row = products::update_product(
        &state.db,
        &state.cache,
        state.settings.search_language,
        id,
        changes.into(),
        reference,
        super::showing(&state, &context.base_url),
    )
    .await?;
    Ok(Json(product_view(&state, &context.base_url, row, true)))
}

/// Delete a product and its images (staff).
#[utoipa::path(delete, path = "/api/products/{id}/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn delete_product(
    State(state): State<AppState>,
    _staff: StaffUser,
    context: RequestContext,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    let showing = super::showing(&state, &context.base_url);
    products::delete_product(&state.db, &state.cache, &state.storage, id, showing).await?;
    Ok(StatusCode::NO_CONTENT)
}
