//! Thin handlers of `/api/shipping/zones/` and `/api/shipping/methods/` (staff only): extract,
//! call one service function, return a view.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::service;
use super::views::{MethodChanges, MethodRequest, MethodView, ZoneChanges, ZoneRequest, ZoneView};
use crate::auth::StaffUser;
use crate::http::ApiResult;
use crate::http::error::field_error;
use crate::http::extract::{Form, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::state::AppState;

/// Shipping zones, newest first (staff).
#[utoipa::path(get, path = "/api/shipping/zones/", tag = "shipping", security(("jwt" = [])),
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses(
        (status = 200, description = "A page of zones", body = Page<ZoneView>),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn list_zones(
    State(state): State<AppState>,
    _staff: StaffUser,
    pagination: Pagination,
) -> ApiResult<Json<Page<ZoneView>>> {
    let (count, rows) =
        service::list_zones(&state.db, pagination.offset(), pagination.limit()).await?;
    Ok(Json(
        pagination.page(
            count,
            rows.into_iter()
                .map(|(zone, areas)| ZoneView::new(zone, &areas))
                .collect(),
        )?,
    ))
}

/// One shipping zone (staff).
#[utoipa::path(get, path = "/api/shipping/zones/{id}/", tag = "shipping", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The zone", body = ZoneView),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such zone", body = ErrorDetail),
    ))]
pub async fn get_zone(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<Json<ZoneView>> {
    let (zone, areas) = service::get_zone(&state.db, id).await?;
    Ok(Json(ZoneView::new(zone, &areas)))
}

/// Create a shipping zone (staff): a country is in one whole-country zone at most, a region in
/// one zone at most.
#[utoipa::path(post, path = "/api/shipping/zones/", tag = "shipping", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = ZoneRequest,
    responses(
        (status = 201, description = "Created", body = ZoneView),
        (status = 400, description = "Invalid field, or a country or region is in another zone", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_zone(
    State(state): State<AppState>,
    _staff: StaffUser,
    Form(request): Form<ZoneRequest>,
) -> ApiResult<(StatusCode, Json<ZoneView>)> {
    let (zone, areas) = service::create_zone(&state.db, &state.cache, request.input).await?;
    Ok((StatusCode::CREATED, Json(ZoneView::new(zone, &areas))))
}

/// Change a shipping zone (staff); `countries` or `regions` replace all its places.
#[utoipa::path(patch, path = "/api/shipping/zones/{id}/", tag = "shipping", security(("jwt" = [])),
    params(("id" = i64, Path)),
    request_body = ZoneChanges,
    responses(
        (status = 200, description = "The zone", body = ZoneView),
        (status = 400, description = "Invalid field, or a country or region is in another zone", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such zone", body = ErrorDetail),
    ))]
pub async fn update_zone(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    Form(changes): Form<ZoneChanges>,
) -> ApiResult<Json<ZoneView>> {
    let (zone, areas) = service::update_zone(&state.db, &state.cache, id, changes.input).await?;
    Ok(Json(ZoneView::new(zone, &areas)))
}

/// Delete a shipping zone and its methods (staff).
#[utoipa::path(delete, path = "/api/shipping/zones/{id}/", tag = "shipping", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted, with its methods"),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such zone", body = ErrorDetail),
    ))]
pub async fn delete_zone(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    service::delete_zone(&state.db, &state.cache, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?zone=` of the method list.
#[derive(Debug, Deserialize)]
pub struct MethodFilter {
    zone: Option<String>,
}

/// Shipping methods, newest first, optionally of one zone (staff).
#[utoipa::path(get, path = "/api/shipping/methods/", tag = "shipping", security(("jwt" = [])),
    params(
        ("zone" = Option<i64>, Query, description = "only the methods of this zone"),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query),
    ),
    responses(
        (status = 200, description = "A page of methods", body = Page<MethodView>),
        (status = 400, description = "Malformed zone", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn list_methods(
    State(state): State<AppState>,
    _staff: StaffUser,
    Query(filter): Query<MethodFilter>,
    pagination: Pagination,
) -> ApiResult<Json<Page<MethodView>>> {
    let zone = match filter
        .zone
        .as_deref()
        .map(str::trim)
        .filter(|z| !z.is_empty())
    {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| field_error("zone", "A valid integer is required."))?,
        ),
    };
    let currency = state.settings.currency;
    let (count, rows) =
        service::list_methods(&state.db, zone, pagination.offset(), pagination.limit()).await?;
    Ok(Json(
        pagination.page(
            count,
            rows.into_iter()
                .map(|row| MethodView::new(row, currency))
                .collect(),
        )?,
    ))
}

/// One shipping method (staff).
#[utoipa::path(get, path = "/api/shipping/methods/{id}/", tag = "shipping", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The method", body = MethodView),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such method", body = ErrorDetail),
    ))]
pub async fn get_method(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<Json<MethodView>> {
    let row = service::get_method(&state.db, id).await?;
    Ok(Json(MethodView::new(row, state.settings.currency)))
}

/// Create a shipping method of a zone (staff): `flat` with a `price`, or `weight` with `rates`.
#[utoipa::path(post, path = "/api/shipping/methods/", tag = "shipping", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = MethodRequest,
    responses(
        (status = 201, description = "Created", body = MethodView),
        (status = 400, description = "Invalid field, or no such zone", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_method(
    State(state): State<AppState>,
    _staff: StaffUser,
    Form(request): Form<MethodRequest>,
) -> ApiResult<(StatusCode, Json<MethodView>)> {
    let row = service::create_method(&state.db, &state.cache, request.input).await?;
    Ok((
        StatusCode::CREATED,
        Json(MethodView::new(row, state.settings.currency)),
    ))
}

/// Change a shipping method (staff); a new `kind` comes with its `price` or `rates`.
#[utoipa::path(patch, path = "/api/shipping/methods/{id}/", tag = "shipping", security(("jwt" = [])),
    params(("id" = i64, Path)),
    request_body = MethodChanges,
    responses(
        (status = 200, description = "The method", body = MethodView),
        (status = 400, description = "Invalid field, or no such zone", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such method", body = ErrorDetail),
    ))]
pub async fn update_method(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    Form(changes): Form<MethodChanges>,
) -> ApiResult<Json<MethodView>> {
    let row = service::update_method(&state.db, &state.cache, id, changes.input).await?;
    Ok(Json(MethodView::new(row, state.settings.currency)))
}

/// Delete a shipping method (staff); a cart that chose it loses the choice.
#[utoipa::path(delete, path = "/api/shipping/methods/{id}/", tag = "shipping", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such method", body = ErrorDetail),
    ))]
pub async fn delete_method(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    service::delete_method(&state.db, &state.cache, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
