//! Handlers of a product's variants: the list (anyone; cached except for staff), staff's
//! create, change and delete, and each variant's stock.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{cached, row_of, to_bytes};
use crate::auth::{MaybeAuthUser, StaffUser};
use crate::catalog::categories::CATEGORIES_SCOPE;
use crate::catalog::inventory::views::{MovementView, StockRequest};
use crate::catalog::variants::views::{VariantChanges, VariantRequest, VariantView};
use crate::catalog::{products, variants};
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::extract::{Form, IdempotencyKey, PathId, PathIds};
use crate::http::openapi::{ErrorDetail, StockConflict, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::http::reads::Reader;
use crate::state::AppState;

/// A product's variants in option order: active ones (all for staff).
#[utoipa::path(get, path = "/api/products/{id}/variants/", tag = "catalog", security((), ("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The variants", body = Vec<VariantView>),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn list_variants(
    State(state): State<AppState>,
    user: MaybeAuthUser,
    reader: Reader,
    context: RequestContext,
    OriginalUri(uri): OriginalUri,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let staff = user.is_staff();
    let key = (!staff).then(|| format!("variants {}{}", context.base_url, uri.path()));
    cached(&state, &reader, key, &[CATEGORIES_SCOPE], || async {
        let row = products::get_product(reader.db(&state), id, staff).await?;
        let shown = vec![row_of(&row)];
        let currency = state.settings.currency;
        let views: Vec<VariantView> = variants::in_order(&row.product, row.variants, staff)
            .iter()
            .map(|v| VariantView::new(v, currency))
            .collect();
        Ok((to_bytes(&views)?, shown))
    })
    .await
}

/// Add a variant to a product (staff): `sku` unique in the shop, `options` exactly the
/// product's option names, each with one of its values.
#[utoipa::path(post, path = "/api/products/{id}/variants/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = VariantRequest,
    responses(
        (status = 201, description = "Created", body = VariantView),
        (status = 400, description = "Invalid field; the SKU is taken", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
        (status = 409, description = "The product has a variant with these options already", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_variant(
    State(state): State<AppState>,
    staff: StaffUser,
    context: RequestContext,
    PathId(id): PathId,
    Form(request): Form<VariantRequest>,
) -> ApiResult<(StatusCode, Json<VariantView>)> {
    let reference = format!("user:{}", staff.0.id());
    let showing = super::showing(&state, &context.base_url);
    let row = variants::create(
        &state.db,
        &state.cache,
        id,
        request.input,
        reference,
        showing,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(VariantView::new(&row, state.settings.currency)),
    ))
}

/// Change a variant (staff).
#[utoipa::path(patch, path = "/api/products/{id}/variants/{variant_id}/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path), ("variant_id" = i64, Path)), request_body = VariantChanges,
    responses(
        (status = 200, description = "The variant", body = VariantView),
        (status = 400, description = "Invalid field; the SKU is taken", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
        (status = 409, description = "Another variant has these options", body = ErrorDetail),
    ))]
pub async fn update_variant(
    State(state): State<AppState>,
    staff: StaffUser,
    context: RequestContext,
    PathIds(id, variant_id): PathIds,
    Form(changes): Form<VariantChanges>,
) -> ApiResult<Json<VariantView>> {
    let reference = format!("user:{}", staff.0.id());
    let row = variants::update(
        &state.db,
        &state.cache,
        (id, variant_id),
        changes.input,
        reference,
        super::showing(&state, &context.base_url),
    )
    .await?;
    Ok(Json(VariantView::new(&row, state.settings.currency)))
}

/// Delete a variant (staff); one that was ever ordered is deactivated instead.
#[utoipa::path(delete, path = "/api/products/{id}/variants/{variant_id}/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path), ("variant_id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted, or deactivated if it was ever ordered"),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
        (status = 409, description = "The product's last variant", body = ErrorDetail),
    ))]
pub async fn delete_variant(
    State(state): State<AppState>,
    _staff: StaffUser,
    context: RequestContext,
    PathIds(id, variant_id): PathIds,
) -> ApiResult<StatusCode> {
    let showing = super::showing(&state, &context.base_url);
    variants::delete(&state.db, &state.cache, (id, variant_id), showing).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a variant's stock (staff): `{"delta": n}` (409 below 0), or `{"set": n,
/// "expected": m}` (409 when the stock is no longer `m`). A retry with the same
/// `Idempotency-Key` header is applied once.
#[utoipa::path(post, path = "/api/variants/{variant_id}/stock/", tag = "catalog", security(("jwt" = [])),
    params(("variant_id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "applies a retried adjustment once")),
    request_body = StockRequest,
    responses(
        (status = 200, description = "The variant", body = VariantView),
        (status = 400, description = "Neither or both of delta and set; a bad number", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
        (status = 409, description = "Below 0, or not the expected stock; `stock` is the current value", body = StockConflict),
        (status = 422, description = "The Idempotency-Key was used for a different adjustment", body = ErrorDetail),
    ))]
pub async fn adjust_variant_stock(
    State(state): State<AppState>,
    staff: StaffUser,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    PathId(variant_id): PathId,
    Form(request): Form<StockRequest>,
) -> ApiResult<Json<VariantView>> {
    let target = variants::owner(&state.db, variant_id).await?;
    super::stock::adjust(&state, &staff, idempotency_key, target, request).await?;
    let row = variants::get(&state.db, variant_id).await?;
    Ok(Json(VariantView::new(&row, state.settings.currency)))
}

/// A variant's stock movements, newest first (staff).
#[utoipa::path(get, path = "/api/variants/{variant_id}/stock/movements/", tag = "catalog", security(("jwt" = [])),
    params(("variant_id" = i64, Path), ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses(
        (status = 200, description = "A page of movements", body = Page<MovementView>),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn list_variant_movements(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(variant_id): PathId,
    pagination: Pagination,
) -> ApiResult<Json<Page<MovementView>>> {
    super::stock::movement_page(&state, variant_id, pagination).await
}
