//! Thin handlers of `/api/tax/rates/` (staff only): extract, call one service function, return
//! a view.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::service;
use super::views::{RateChanges, RateRequest, RateView};
use crate::accounts::views::is_country;
use crate::auth::StaffUser;
use crate::http::ApiResult;
use crate::http::error::field_error;
use crate::http::extract::{Form, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::state::AppState;

/// `?country=` of the rate list.
#[derive(Debug, Deserialize)]
pub struct RateFilter {
    country: Option<String>,
}

/// Tax rates, newest first, optionally of one country (staff).
#[utoipa::path(get, path = "/api/tax/rates/", tag = "tax", security(("jwt" = [])),
    params(
        ("country" = Option<String>, Query, description = "only this country's rates (ISO 3166 alpha-2)"),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query),
    ),
    responses(
        (status = 200, description = "A page of rates", body = Page<RateView>),
        (status = 400, description = "Unknown country", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn list_rates(
    State(state): State<AppState>,
    _staff: StaffUser,
    Query(filter): Query<RateFilter>,
    pagination: Pagination,
) -> ApiResult<Json<Page<RateView>>> {
    let country = filter
        .country
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty());
    if let Some(code) = country.as_deref().filter(|code| !is_country(code)) {
        return Err(field_error(
            "country",
            format!("Select a valid choice. {code} is not one of the available choices."),
        ));
    }
    let (count, rows) = service::list_rates(
        &state.db,
        country.as_deref(),
        pagination.offset(),
        pagination.limit(),
    )
    .await?;
    Ok(Json(pagination.page(
        count,
        rows.into_iter().map(RateView::from).collect(),
    )?))
}

/// One tax rate (staff).
#[utoipa::path(get, path = "/api/tax/rates/{id}/", tag = "tax", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The rate", body = RateView),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such rate", body = ErrorDetail),
    ))]
pub async fn get_rate(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<Json<RateView>> {
    Ok(Json(service::get_rate(&state.db, id).await?.into()))
}

/// Create a tax rate (staff): one per country, region and tax class.
#[utoipa::path(post, path = "/api/tax/rates/", tag = "tax", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = RateRequest,
    responses(
        (status = 201, description = "Created", body = RateView),
        (status = 400, description = "Invalid field, or a rate for this country, region and class exists", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_rate(
    State(state): State<AppState>,
    _staff: StaffUser,
    Form(request): Form<RateRequest>,
) -> ApiResult<(StatusCode, Json<RateView>)> {
    let row = service::create_rate(&state.db, &state.cache, request.input).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Change a tax rate (staff).
#[utoipa::path(patch, path = "/api/tax/rates/{id}/", tag = "tax", security(("jwt" = [])),
    params(("id" = i64, Path)),
    request_body = RateChanges,
    responses(
        (status = 200, description = "The rate", body = RateView),
        (status = 400, description = "Invalid field, or a rate for this country, region and class exists", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such rate", body = ErrorDetail),
    ))]
pub async fn update_rate(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    Form(changes): Form<RateChanges>,
) -> ApiResult<Json<RateView>> {
    Ok(Json(
        service::update_rate(&state.db, &state.cache, id, changes.input)
            .await?
            .into(),
    ))
}

/// Delete a tax rate (staff); placed orders keep what they were taxed.
#[utoipa::path(delete, path = "/api/tax/rates/{id}/", tag = "tax", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such rate", body = ErrorDetail),
    ))]
pub async fn delete_rate(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    service::delete_rate(&state.db, &state.cache, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
