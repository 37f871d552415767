//! Thin handlers of `/api/coupons/` (staff only): extract, call one service function, return a
//! view.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::service;
use super::views::{CouponChanges, CouponRequest, CouponView};
use crate::auth::StaffUser;
use crate::http::ApiResult;
use crate::http::extract::{Form, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::state::AppState;

/// Coupons, newest first (staff).
#[utoipa::path(get, path = "/api/coupons/", tag = "coupons", security(("jwt" = [])),
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses(
        (status = 200, description = "A page of coupons", body = Page<CouponView>),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn list_coupons(
    State(state): State<AppState>,
    _staff: StaffUser,
    pagination: Pagination,
) -> ApiResult<Json<Page<CouponView>>> {
    let currency = state.settings.currency;
    let (count, rows) =
        service::list_coupons(&state.db, pagination.offset(), pagination.limit()).await?;
    Ok(Json(
        pagination.page(
            count,
            rows.into_iter()
                .map(|row| CouponView::new(row, currency))
                .collect(),
        )?,
    ))
}

/// One coupon (staff).
#[utoipa::path(get, path = "/api/coupons/{id}/", tag = "coupons", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The coupon", body = CouponView),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such coupon", body = ErrorDetail),
    ))]
pub async fn get_coupon(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<Json<CouponView>> {
    let row = service::get_coupon(&state.db, id).await?;
    Ok(Json(CouponView::new(row, state.settings.currency)))
}

/// Create a coupon (staff); its code is unique whatever the case.
#[utoipa::path(post, path = "/api/coupons/", tag = "coupons", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = CouponRequest,
    responses(
        (status = 201, description = "Created", body = CouponView),
        (status = 400, description = "Invalid field, or the code is taken", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_coupon(
    State(state): State<AppState>,
    _staff: StaffUser,
    Form(request): Form<CouponRequest>,
) -> ApiResult<(StatusCode, Json<CouponView>)> {
    let currency = state.settings.currency;
    let row = service::create_coupon(&state.db, currency, request.into()).await?;
    Ok((StatusCode::CREATED, Json(CouponView::new(row, currency))))
}

/// Change a coupon (staff); a new `kind` comes with its `value`.
#[utoipa::path(patch, path = "/api/coupons/{id}/", tag = "coupons", security(("jwt" = [])),
    params(("id" = i64, Path)),
    request_body = CouponChanges,
    responses(
        (status = 200, description = "The coupon", body = CouponView),
        (status = 400, description = "Invalid field, or the code is taken", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such coupon", body = ErrorDetail),
    ))]
pub async fn update_coupon(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    Form(changes): Form<CouponChanges>,
) -> ApiResult<Json<CouponView>> {
    let currency = state.settings.currency;
    let row = service::update_coupon(&state.db, currency, id, changes.into()).await?;
    Ok(Json(CouponView::new(row, currency)))
}

/// Delete a coupon (staff); carts holding it lose it.
#[utoipa::path(delete, path = "/api/coupons/{id}/", tag = "coupons", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such coupon", body = ErrorDetail),
    ))]
pub async fn delete_coupon(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    service::delete_coupon(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
