//! Handlers of a single-variant product's stock (staff): adjusting it and listing its
//! movements. A product with several variants answers 409 (see `variants.rs`).

use axum::Json;
use axum::extract::State;

use super::product_view;
use crate::auth::StaffUser;
use crate::catalog::inventory::views::{MovementView, StockRequest};
use crate::catalog::views::ProductView;
use crate::catalog::{inventory, products, variants};
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::error::ApiError;
use crate::http::extract::{Form, IdempotencyKey, PathId};
use crate::http::openapi::{ErrorDetail, StockConflict, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::state::AppState;

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
        (status = 409, description = "Below 0, or not the expected stock (`stock` is the current value); or the product has several variants", body = StockConflict),
        (status = 422, description = "The Idempotency-Key was used for a different adjustment", body = ErrorDetail),
    ))]
pub async fn adjust_stock(
    State(state): State<AppState>,
    staff: StaffUser,
    context: RequestContext,
    IdempotencyKey(idempotency_key): IdempotencyKey,
    PathId(id): PathId,
    Form(request): Form<StockRequest>,
) -> ApiResult<Json<ProductView>> {
    let variant_id = match variants::only_variant(&state.db, id).await {
        Ok(variant_id) => variant_id,
        // This endpoint's 409 carries the stock: here the product's, over its variants.
        Err(ApiError::Conflict { detail, mut extra }) => {
            let row = products::get_product(&state.db, id, true).await?;
            extra.insert("stock".to_owned(), row.product.stock.into());
            return Err(ApiError::Conflict { detail, extra });
        }
        Err(e) => return Err(e),
    };
    adjust(&state, &staff, idempotency_key, (id, variant_id), request).await?;
    let row = products::get_product(&state.db, id, true).await?;
    Ok(Json(product_view(&state, &context.base_url, row, true)))
}

/// A product's stock movements, newest first (staff): every change, from staff, orders,
/// cancellations and expiry.
#[utoipa::path(get, path = "/api/products/{id}/stock/movements/", tag = "catalog", security(("jwt" = [])),
    params(("id" = i64, Path), ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses(
        (status = 200, description = "A page of movements", body = Page<MovementView>),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "Not found", body = ErrorDetail),
        (status = 409, description = "The product has several variants", body = ErrorDetail),
    ))]
pub async fn list_movements(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    pagination: Pagination,
) -> ApiResult<Json<Page<MovementView>>> {
    let variant_id = variants::only_variant(&state.db, id).await?;
    movement_page(&state, variant_id, pagination).await
}

/// A staff adjustment of one variant's stock, the staff member and the key as its cause.
pub(super) async fn adjust(
    state: &AppState,
    staff: &StaffUser,
    idempotency_key: Option<String>,
    target: (i64, i64),
    request: StockRequest,
) -> ApiResult<()> {
    let cause = inventory::Cause {
        reason: request.reason.unwrap_or_else(|| "adjustment".to_owned()),
        reference: format!("user:{}", staff.0.id()),
        idempotency_key,
    };
    let alerts = inventory::StockAlerts {
        threshold: state.settings.orders.low_stock_threshold,
        currency: state.settings.currency,
    };
    inventory::adjust(
        &state.db,
        &state.cache,
        target,
        request.adjustment,
        cause,
        alerts,
    )
    .await
}

/// A page of one variant's movements.
pub(super) async fn movement_page(
    state: &AppState,
    variant_id: i64,
    pagination: Pagination,
) -> ApiResult<Json<Page<MovementView>>> {
    let (count, rows) = inventory::movements(
        &state.db,
        variant_id,
        pagination.offset(),
        pagination.limit(),
    )
    .await?;
    Ok(Json(pagination.page(
        count,
        rows.into_iter().map(MovementView::from).collect(),
    )?))
}
