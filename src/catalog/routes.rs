//! Thin handlers of `/api/categories/` and `/api/products/`. Anonymous and customer reads are
//! served from the catalog cache; staff reads (which include inactive products) never are.

use std::future::Future;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::categories;
use super::products::{self, ProductRow};
use super::views::{
    CategoryChanges, CategoryRequest, CategorySummary, CategoryView, ImageUpload, ImageView,
    ProductChanges, ProductRequest, ProductView,
};
use crate::auth::{MaybeAuthUser, StaffUser};
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::error::{bad_request, internal};
use crate::http::extract::{Form, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::money::Money;
use crate::state::AppState;

fn json_response(body: Bytes, cache: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert("x-cache", HeaderValue::from_static(cache));
    response
}

fn to_bytes<T: serde::Serialize>(value: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(value).map(Bytes::from).map_err(internal)
}

/// Serves `build`'s JSON through the cache, keyed by the catalog version and the absolute URL
/// (links in the body depend on it), unless `cacheable` is false.
async fn cached<F, Fut>(
    state: &AppState,
    url: &str,
    cacheable: bool,
    build: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<Bytes>>,
{
    if !cacheable {
        return Ok(json_response(build().await?, "bypass"));
    }
    let version = state.catalog_cache.version(&state.db).await?;
    let digest: String = Sha256::digest(url.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = format!("catalog:{version}:{digest}");
    if let Some(body) = state.catalog_cache.get(&key).await {
        return Ok(json_response(body, "hit"));
    }
    let body = build().await?;
    state.catalog_cache.put(key, body.clone()).await;
    Ok(json_response(body, "miss"))
}

fn request_url(context: &RequestContext, uri: &axum::http::Uri) -> String {
    format!(
        "{}{}",
        context.base_url,
        uri.path_and_query().map_or("", |pq| pq.as_str())
    )
}

fn product_view(state: &AppState, base_url: &str, row: ProductRow) -> ProductView {
    let currency = state.settings.currency;
    ProductView {
        id: row.product.id,
        name: row.product.name,
        slug: row.product.slug,
        description: row.product.description,
        price: Money::from_minor(row.product.price).format(currency),
        currency: currency.code(),
        stock: row.product.stock,
        in_stock: row.product.stock > 0,
        is_active: row.product.is_active,
        category: CategorySummary {
            id: row.category.id,
            name: row.category.name,
            slug: row.category.slug,
        },
        images: row
            .images
            .iter()
            .map(|image| ImageView::new(image, &state.storage, base_url))
            .collect(),
        // Reviews arrive with their own issue; until then nothing is rated.
        average_rating: None,
        review_count: 0,
        created_at: row.product.created_at,
        updated_at: row.product.updated_at,
    }
}

/// Categories, by name.
#[utoipa::path(get, path = "/api/categories/", tag = "catalog",
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses((status = 200, description = "A page of categories", body = Page<CategoryView>)))]
pub async fn list_categories(
    State(state): State<AppState>,
    context: RequestContext,
    OriginalUri(uri): OriginalUri,
    pagination: Pagination,
) -> ApiResult<Response> {
    let url = request_url(&context, &uri);
    cached(&state, &url, true, || async {
        let (count, rows) =
            categories::list_categories(&state.db, pagination.offset(), pagination.limit()).await?;
        to_bytes(&pagination.page(count, rows.into_iter().map(CategoryView::from).collect())?)
    })
    .await
}

/// One category.
#[utoipa::path(get, path = "/api/categories/{id}/", tag = "catalog", params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The category", body = CategoryView),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn get_category(
    State(state): State<AppState>,
    context: RequestContext,
    OriginalUri(uri): OriginalUri,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let url = request_url(&context, &uri);
    cached(&state, &url, true, || async {
        to_bytes(&CategoryView::from(
            categories::get_category(&state.db, id).await?,
        ))
    })
    .await
}

/// Create a category (staff). The slug is made from the name unless given.
#[utoipa::path(post, path = "/api/categories/", tag = "catalog", security(("jwt" = [])),
    request_body = CategoryRequest,
    responses(
        (status = 201, description = "Created", body = CategoryView),
        (status = 400, description = "Invalid field, taken slug, unknown parent", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn create_category(
    State(state): State<AppState>,
    _staff: StaffUser,
    Form(request): Form<CategoryRequest>,
) -> ApiResult<(StatusCode, Json<CategoryView>)> {
    let row = categories::create_category(&state, request.into()).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Change a category (staff); a parent that would make a cycle is refused.
#[utoipa::path(patch, path = "/api/categories/{id}/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path)), request_body = CategoryChanges,
    responses(
        (status = 200, description = "The category", body = CategoryView),
        (status = 400, description = "Invalid field or a parent cycle", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn update_category(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    Form(changes): Form<CategoryChanges>,
) -> ApiResult<Json<CategoryView>> {
    Ok(Json(
        categories::update_category(&state, id, changes.into())
            .await?
            .into(),
    ))
}

/// Delete a category (staff); 409 while it has products or sub-categories.
#[utoipa::path(delete, path = "/api/categories/{id}/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "It still has products or sub-categories", body = ErrorDetail),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn delete_category(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    categories::delete_category(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Products: active ones for everybody but staff. Filters `category` (with its sub-categories),
/// `search`, `min_price`, `max_price`, `in_stock`; `ordering`.
#[utoipa::path(get, path = "/api/products/", tag = "catalog",
    params(
        ("category" = Option<i64>, Query, description = "a category id; includes sub-categories"),
        ("search" = Option<String>, Query, description = "every word must appear in the name or description"),
        ("min_price" = Option<String>, Query), ("max_price" = Option<String>, Query),
        ("in_stock" = Option<bool>, Query),
        ("ordering" = Option<String>, Query, description = "price, -price, name, -name, created_at, -created_at (default)"),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query),
    ),
    responses(
        (status = 200, description = "A page of products", body = Page<ProductView>),
        (status = 400, description = "A malformed filter or an unknown ordering", body = ValidationErrors),
    ))]
pub async fn list_products(
    State(state): State<AppState>,
    user: MaybeAuthUser,
    context: RequestContext,
    OriginalUri(uri): OriginalUri,
    pagination: Pagination,
) -> ApiResult<Response> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| bad_request("The query string is malformed."))?;
    let filter = products::parse_filter(&query, state.settings.currency)?;
    let staff = user.is_staff();
    let url = request_url(&context, &uri);
    cached(&state, &url, !staff, || async {
        let (count, rows) = products::list_products(
            &state.db,
            &filter,
            staff,
            pagination.offset(),
            pagination.limit(),
        )
        .await?;
        let views = rows
            .into_iter()
            .map(|row| product_view(&state, &context.base_url, row))
            .collect();
        to_bytes(&pagination.page(count, views)?)
    })
    .await
}

/// One product; an inactive one is a 404 except for staff.
#[utoipa::path(get, path = "/api/products/{id}/", tag = "catalog", params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn get_product(
    State(state): State<AppState>,
    user: MaybeAuthUser,
    context: RequestContext,
    OriginalUri(uri): OriginalUri,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let staff = user.is_staff();
    let url = request_url(&context, &uri);
    cached(&state, &url, !staff, || async {
        let row = products::get_product(&state.db, id, staff).await?;
        to_bytes(&product_view(&state, &context.base_url, row))
    })
    .await
}

/// Create a product (staff).
#[utoipa::path(post, path = "/api/products/", tag = "catalog", security(("jwt" = [])),
    request_body = ProductRequest,
    responses(
        (status = 201, description = "Created", body = ProductView),
        (status = 400, description = "Invalid field", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn create_product(
    State(state): State<AppState>,
    _staff: StaffUser,
    context: RequestContext,
    Form(request): Form<ProductRequest>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    let row = products::create_product(&state, request.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(product_view(&state, &context.base_url, row)),
    ))
}

/// Change a product (staff).
#[utoipa::path(patch, path = "/api/products/{id}/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path)), request_body = ProductChanges,
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 400, description = "Invalid field", body = ValidationErrors),
        (status = 404, description = "Not found", body = ErrorDetail),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn update_product(
    State(state): State<AppState>,
    _staff: StaffUser,
    context: RequestContext,
    PathId(id): PathId,
    Form(changes): Form<ProductChanges>,
) -> ApiResult<Json<ProductView>> {
    let row = products::update_product(&state, id, changes.into()).await?;
    Ok(Json(product_view(&state, &context.base_url, row)))
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
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    products::delete_product(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Upload an image of a product (staff): JPEG, PNG or WebP, checked by content, ≤ 5 MiB.
#[utoipa::path(post, path = "/api/products/{id}/images/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path)),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = ImageView),
        (status = 400, description = "Not an image", body = ValidationErrors),
        (status = 413, description = "Over 5 MiB", body = ErrorDetail),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn upload_image(
    State(state): State<AppState>,
    _staff: StaffUser,
    context: RequestContext,
    PathId(id): PathId,
    upload: ImageUpload,
) -> ApiResult<(StatusCode, Json<ImageView>)> {
    let row = products::add_image(&state, id, upload.image, upload.is_primary).await?;
    Ok((
        StatusCode::CREATED,
        Json(ImageView::new(&row, &state.storage, &context.base_url)),
    ))
}

/// Delete an image of a product, and its file (staff).
#[utoipa::path(delete, path = "/api/products/{id}/images/{image_id}/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path), ("image_id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn delete_image(
    State(state): State<AppState>,
    _staff: StaffUser,
    axum::extract::Path((id, image_id)): axum::extract::Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (Ok(id), Ok(image_id)) = (id.parse::<i64>(), image_id.parse::<i64>()) else {
        return Err(crate::http::error::not_found());
    };
    products::delete_image(&state, id, image_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
