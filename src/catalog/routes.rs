//! Thin handlers of `/api/categories/` and `/api/products/`. Anonymous and customer reads are
//! served from the catalog cache; staff reads (which include inactive products) never are.

use std::future::Future;

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use super::categories::{self, CATEGORIES_SCOPE};
use super::inventory::views::{MovementView, StockRequest};
use super::inventory::{self, IN_STOCK_SCOPE};
use super::products::{self, LISTING_SCOPE, ProductRow, product_tag};
use super::search::{DatabaseSearch, SearchBackend};
use super::views::{
    CategoryChanges, CategoryCount, CategoryRequest, CategorySummary, CategoryView, FacetsView,
    ImageUpload, ImageView, PriceRange, ProductChanges, ProductRequest, ProductView, Suggestion,
    SuggestionsView,
};
use crate::auth::{MaybeAuthUser, StaffUser};
use crate::cache::{Lookup, ResponseCache};
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::error::{bad_request, field_error, internal};
use crate::http::extract::{Form, IdempotencyKey, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination, query_param};
use crate::money::Money;
use crate::state::AppState;

const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// A JSON body, its headers sized up front for the ones every response gets on its way out.
fn json_response(body: Bytes, cache: &'static str) -> Response {
    let mut headers = HeaderMap::with_capacity(12);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(X_CACHE, HeaderValue::from_static(cache));
    let mut response = Response::new(axum::body::Body::from(body));
    *response.headers_mut() = headers;
    response
}

fn to_bytes<T: serde::Serialize>(value: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(value).map(Bytes::from).map_err(internal)
}

/// A response body and the rows (cache tag, version) it shows.
type Built = (Bytes, Vec<(String, i64)>);

/// Serves `build`'s JSON through the response cache under `key` — made from the parsed,
/// normalised request, never its raw text — when there is a key (staff reads have none).
/// `scopes` are what the response depends on beyond the rows it shows.
async fn cached<F, Fut>(
    cache: &ResponseCache,
    key: Option<String>,
    scopes: &[&'static str],
    build: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<Built>>,
{
    let Some(key) = key else {
        count_lookup(2);
        return Ok(json_response(build().await?.0, "bypass"));
    };
    match cache.lookup(&key, scopes).await {
        Lookup::Hit(body) => {
            count_lookup(0);
            Ok(json_response(body, "hit"))
        }
        Lookup::Bypass => {
            count_lookup(2);
            Ok(json_response(build().await?.0, "bypass"))
        }
        Lookup::Miss(snapshot) => {
            count_lookup(1);
            let (body, rows) = build().await?;
            cache.store(key, snapshot, rows, body.clone()).await;
            Ok(json_response(body, "miss"))
        }
    }
}

/// Counts a cached read in `cache_lookups_total` by `result`: 0 hit, 1 miss, 2 bypass (the
/// handles are made once).
fn count_lookup(result: usize) {
    static COUNTERS: std::sync::LazyLock<[metrics::Counter; 3]> = std::sync::LazyLock::new(|| {
        ["hit", "miss", "bypass"]
            .map(|result| metrics::counter!("cache_lookups_total", "result" => result))
    });
    COUNTERS[result].increment(1);
}

/// A list's pagination with links (and cache key) made of its known parameters only.
fn normal_pagination(
    context: &RequestContext,
    uri: &axum::http::Uri,
    query: Vec<(String, String)>,
) -> ApiResult<Pagination> {
    let raw: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| bad_request("The query string is malformed."))?;
    let url = format!("{}{}", context.base_url, uri.path());
    Ok(Pagination::from_query(url, raw)?.normalized(query))
}

fn row_of(row: &ProductRow) -> (String, i64) {
    (product_tag(row.product.id), row.product.version)
}

fn product_view(state: &AppState, base_url: &str, row: ProductRow) -> ProductView {
    let currency = state.settings.currency;
    let average_rating = products::average_rating(&row.product);
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
        average_rating,
        review_count: row.product.review_count,
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
) -> ApiResult<Response> {
    let pagination = normal_pagination(&context, &uri, Vec::new())?;
    let key = pagination.cache_key("categories");
    cached(&state.cache, Some(key), &[CATEGORIES_SCOPE], || async {
        let (count, rows) =
            categories::list_categories(&state.db, pagination.offset(), pagination.limit()).await?;
        let body =
            to_bytes(&pagination.page(count, rows.into_iter().map(CategoryView::from).collect())?)?;
        Ok((body, Vec::new()))
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
    PathId(id): PathId,
) -> ApiResult<Response> {
    let key = format!("category {id}");
    cached(&state.cache, Some(key), &[CATEGORIES_SCOPE], || async {
        let view = CategoryView::from(categories::get_category(&state.db, id).await?);
        Ok((to_bytes(&view)?, Vec::new()))
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
    let row = categories::create_category(&state.db, &state.cache, request.into()).await?;
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
        categories::update_category(&state.db, &state.cache, id, changes.into())
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
    categories::delete_category(&state.db, &state.cache, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Products: active ones for everybody but staff. Filters `category` (with its sub-categories),
/// `search`, `min_price`, `max_price`, `in_stock`; `ordering`.
#[utoipa::path(get, path = "/api/products/", tag = "catalog",
    params(
        ("category" = Option<i64>, Query, description = "a category id; includes sub-categories"),
        ("search" = Option<String>, Query, description = "words in the name or description; without `ordering`, best matches first (more of the words, name above description, exact above stemmed above one-letter-off)"),
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
    cached(&state.cache, key, scopes, || async {
        let (count, rows) = products::list_products(
            &state.db,
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
            .map(|row| product_view(&state, &context.base_url, row))
            .collect();
        Ok((to_bytes(&pagination.page(count, views)?)?, shown))
    })
    .await
}

/// The search backend, in the shop's language.
fn search(state: &AppState) -> DatabaseSearch {
    DatabaseSearch {
        language: state.settings.search_language,
    }
}

/// The list's filters from a query string (its `ordering` checked, then dropped: counts have
/// no order), and the key of their normal form.
fn facet_filter_and_key(
    uri: &axum::http::Uri,
    currency: crate::money::Currency,
) -> ApiResult<(products::ProductFilter, String)> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| bad_request("The query string is malformed."))?;
    let mut filter = products::parse_filter(&query, currency)?;
    filter.ordering = None;
    let normal = serde_urlencoded::to_string(filter.normal_query(currency)).map_err(internal)?;
    Ok((filter, format!("facets\u{1f}{normal}")))
}

/// Counts for the products the list's filters select (same filters as the list; `ordering`
/// and pages do not apply): per category with its sub-categories, per price bucket, in stock.
#[utoipa::path(get, path = "/api/products/facets/", tag = "catalog",
    params(
        ("category" = Option<i64>, Query), ("search" = Option<String>, Query),
        ("min_price" = Option<String>, Query), ("max_price" = Option<String>, Query),
        ("in_stock" = Option<bool>, Query),
    ),
    responses(
        (status = 200, description = "Counts for the result set", body = FacetsView),
        (status = 400, description = "A malformed filter", body = ValidationErrors),
    ))]
pub async fn product_facets(
    State(state): State<AppState>,
    user: MaybeAuthUser,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let currency = state.settings.currency;
    let (filter, key) = facet_filter_and_key(&uri, currency)?;
    let staff = user.is_staff();
    let key = (!staff).then_some(key);
    let scopes = &[CATEGORIES_SCOPE, LISTING_SCOPE, IN_STOCK_SCOPE];
    cached(&state.cache, key, scopes, || async {
        let facets =
            products::product_facets(&state.db, &search(&state), &filter, staff, currency).await?;
        let view = FacetsView {
            categories: facets
                .categories
                .into_iter()
                .map(|(category, count)| CategoryCount {
                    id: category.id,
                    name: category.name,
                    count,
                })
                .collect(),
            price_ranges: facets
                .price_ranges
                .into_iter()
                .map(|(min, max, count)| PriceRange {
                    min: Money::from_minor(min).format(currency),
                    max: max.map(|max| Money::from_minor(max).format(currency)),
                    count,
                })
                .collect(),
            in_stock: facets.in_stock,
            count: facets.count,
        };
        Ok((to_bytes(&view)?, Vec::new()))
    })
    .await
}

/// Longest text `suggest` takes.
const MAX_TYPED: usize = 200;

/// Products and categories for what a shopper is typing: the last word is a prefix, the
/// words before it must be in the product.
#[utoipa::path(get, path = "/api/products/suggest/", tag = "catalog",
    params(("q" = Option<String>, Query, description = "what has been typed so far")),
    responses(
        (status = 200, description = "Up to ten products and ten categories", body = SuggestionsView),
        (status = 400, description = "Control characters, or over 200 characters", body = ValidationErrors),
    ))]
pub async fn suggest(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| bad_request("The query string is malformed."))?;
    let typed = query_param(&query, "q").unwrap_or("");
    if let Some(problem) = crate::http::extract::text_problem(typed, MAX_TYPED) {
        return Err(field_error("q", problem));
    }
    let words: Vec<String> = crate::text::words(typed).take(10).collect();
    let key = format!("suggest\u{1f}{}", words.join(" "));
    cached(
        &state.cache,
        Some(key),
        &[CATEGORIES_SCOPE, LISTING_SCOPE],
        || async {
            let found = search(&state)
                .suggest(&state.db, &words)
                .await
                .map_err(crate::http::error::ApiError::from)?;
            let named = |(id, name, slug): (i64, String, String)| Suggestion { id, name, slug };
            let view = SuggestionsView {
                products: found.products.into_iter().map(named).collect(),
                categories: found.categories.into_iter().map(named).collect(),
            };
            Ok((to_bytes(&view)?, Vec::new()))
        },
    )
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
    let key = (!staff).then(|| format!("product {}{}", context.base_url, uri.path()));
    cached(&state.cache, key, &[CATEGORIES_SCOPE], || async {
        let row = products::get_product(&state.db, id, staff).await?;
        let shown = vec![row_of(&row)];
        Ok((
            to_bytes(&product_view(&state, &context.base_url, row))?,
            shown,
        ))
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
    )
    .await?;
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
    )
    .await?;
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
    products::delete_product(&state.db, &state.cache, &state.storage, id).await?;
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
    let row = products::add_image(
        &state.db,
        &state.cache,
        &state.storage,
        id,
        upload.image,
        upload.is_primary,
    )
    .await?;
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
    products::delete_image(&state.db, &state.cache, &state.storage, id, image_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a product's stock (staff): `{"delta": n}` (refused with 409 below 0), or
/// `{"set": n, "expected": m}` (409 when the stock is no longer `m`). Unlike a `PATCH` of
/// `stock`, neither can erase units sold meanwhile. A retry with the same `Idempotency-Key`
/// header is applied once.
#[utoipa::path(post, path = "/api/products/{id}/stock/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "applies a retried adjustment once")),
    request_body = StockRequest,
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 400, description = "Neither or both of delta and set; a bad number", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
        (status = 409, description = "Below 0, or not the expected stock; `stock` is the current value", body = ErrorDetail),
    ))]
pub async fn adjust_stock(
    State(state): State<AppState>,
    staff: StaffUser,
    context: RequestContext,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    PathId(id): PathId,
    Form(request): Form<StockRequest>,
) -> ApiResult<Json<ProductView>> {
    let cause = inventory::Cause {
        reason: request.reason.unwrap_or_else(|| "adjustment".to_owned()),
        reference: format!("user:{}", staff.0.id()),
        idempotency_key,
    };
    let row = inventory::adjust(&state.db, &state.cache, id, request.adjustment, cause).await?;
    Ok(Json(product_view(&state, &context.base_url, row)))
}

/// A product's stock movements, newest first (staff): every change, from staff, orders,
/// cancellations and expiry.
#[utoipa::path(get, path = "/api/products/{id}/stock/movements/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path), ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses(
        (status = 200, description = "A page of movements", body = Page<MovementView>),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn list_movements(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    pagination: Pagination,
) -> ApiResult<Json<Page<MovementView>>> {
    let (count, rows) =
        inventory::movements(&state.db, id, pagination.offset(), pagination.limit()).await?;
    Ok(Json(pagination.page(
        count,
        rows.into_iter().map(MovementView::from).collect(),
    )?))
}
