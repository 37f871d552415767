//! Thin handlers of `/api/webhooks/` (staff only): extract, call one service function, return
//! a view.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;

use super::delivery::DeliveryStatus;
use super::service;
use super::views::{
    CreatedWebhookView, DeliveryFilter, DeliveryView, WebhookChanges, WebhookRequest, WebhookView,
};
use crate::auth::StaffUser;
use crate::http::ApiResult;
use crate::http::extract::{Form, PathId, PathIds};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::state::AppState;

/// Webhook endpoints, newest first (staff).
#[utoipa::path(get, path = "/api/webhooks/", tag = "webhooks", security(("jwt" = [])),
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses(
        (status = 200, description = "A page of endpoints", body = Page<WebhookView>),
        (status = 403, description = "Not staff", body = ErrorDetail),
    ))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    _staff: StaffUser,
    pagination: Pagination,
) -> ApiResult<Json<Page<WebhookView>>> {
    let (count, rows) =
        service::list_webhooks(&state.db, pagination.offset(), pagination.limit()).await?;
    Ok(Json(pagination.page(
        count,
        rows.into_iter().map(WebhookView::from).collect(),
    )?))
}

/// One webhook endpoint, without its secret (staff).
#[utoipa::path(get, path = "/api/webhooks/{id}/", tag = "webhooks", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such endpoint", body = ErrorDetail),
    ))]
pub async fn get_webhook(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(service::get_webhook(&state.db, id).await?.into()))
}

/// Register a webhook endpoint (staff); the answer shows its signing secret, once.
#[utoipa::path(post, path = "/api/webhooks/", tag = "webhooks", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = WebhookRequest,
    responses(
        (status = 201, description = "Created; `secret` is shown only here", body = CreatedWebhookView),
        (status = 400, description = "Invalid field, or a URL that may not be delivered to", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_webhook(
    State(state): State<AppState>,
    _staff: StaffUser,
    Form(request): Form<WebhookRequest>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookView>)> {
    let (row, secret) = service::create_webhook(&state.db, &state.settings, request.input).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookView::new(row, secret)),
    ))
}

/// Change a webhook endpoint (staff); `is_active: true` re-enables one the shop turned off.
#[utoipa::path(patch, path = "/api/webhooks/{id}/", tag = "webhooks", security(("jwt" = [])),
    params(("id" = i64, Path)),
    request_body = WebhookChanges,
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 400, description = "Invalid field, or a URL that may not be delivered to", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such endpoint", body = ErrorDetail),
    ))]
pub async fn update_webhook(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    Form(changes): Form<WebhookChanges>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(
        service::update_webhook(&state.db, &state.settings, id, changes.input)
            .await?
            .into(),
    ))
}

/// Delete a webhook endpoint and its deliveries (staff).
#[utoipa::path(delete, path = "/api/webhooks/{id}/", tag = "webhooks", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such endpoint", body = ErrorDetail),
    ))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    service::delete_webhook(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a webhook endpoint a new signing secret, shown once (staff); for 24 hours deliveries
/// are signed with the old one too.
#[utoipa::path(post, path = "/api/webhooks/{id}/rotate-secret/", tag = "webhooks", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The endpoint with its new `secret`, shown only here", body = CreatedWebhookView),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such endpoint", body = ErrorDetail),
    ))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<Json<CreatedWebhookView>> {
    let (row, secret) = service::rotate_secret(&state.db, &state.settings, id).await?;
    Ok(Json(CreatedWebhookView::new(row, secret)))
}

/// An endpoint's deliveries, newest first, optionally of one status (staff).
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries/", tag = "webhooks", security(("jwt" = [])),
    params(
        ("id" = i64, Path),
        ("status" = Option<DeliveryStatus>, Query),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query),
    ),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<DeliveryView>),
        (status = 400, description = "Unknown status", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such endpoint", body = ErrorDetail),
    ))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
    Query(filter): Query<DeliveryFilter>,
    pagination: Pagination,
) -> ApiResult<Json<Page<DeliveryView>>> {
    let (count, rows) = service::list_deliveries(
        &state.db,
        id,
        filter.status()?,
        pagination.offset(),
        pagination.limit(),
    )
    .await?;
    Ok(Json(pagination.page(
        count,
        rows.into_iter().map(DeliveryView::from).collect(),
    )?))
}

/// Send a delivery again now, whatever its status, and answer with it after the attempt
/// (staff).
#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery_id}/retry/", tag = "webhooks", security(("jwt" = [])),
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    responses(
        (status = 200, description = "The delivery after the attempt (see `status` and `last_error`)", body = DeliveryView),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such endpoint or delivery", body = ErrorDetail),
        (status = 409, description = "A worker is sending it right now", body = ErrorDetail),
        (status = 503, description = "Too many deliveries are being sent for staff already", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathIds(id, delivery_id): PathIds,
) -> ApiResult<Json<DeliveryView>> {
    Ok(Json(
        service::retry_delivery(&state, id, delivery_id)
            .await?
            .into(),
    ))
}

/// Send a `ping` event to the endpoint now and answer with its delivery (staff).
#[utoipa::path(post, path = "/api/webhooks/{id}/ping/", tag = "webhooks", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The ping's delivery after its one attempt", body = DeliveryView),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such endpoint", body = ErrorDetail),
        (status = 503, description = "Too many deliveries are being sent for staff already", body = ErrorDetail,
            headers(("Retry-After" = u64, description = "seconds to wait"))),
    ))]
pub async fn ping(
    State(state): State<AppState>,
    _staff: StaffUser,
    PathId(id): PathId,
) -> ApiResult<Json<DeliveryView>> {
    Ok(Json(service::ping(&state, id).await?.into()))
}
