//! Thin handlers of `/api/products/{id}/reviews/` and `/api/reviews/{id}/`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::service;
use super::views::{ReviewChanges, ReviewRequest, ReviewView};
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::http::ApiResult;
use crate::http::extract::{Form, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::state::AppState;

/// A product's reviews, newest first.
#[utoipa::path(get, path = "/api/products/{id}/reviews/", tag = "reviews", security((), ("jwt" = [])),
    params(("id" = i64, Path), ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses(
        (status = 200, description = "A page of reviews", body = Page<ReviewView>),
        (status = 404, description = "No such product (or inactive)", body = ErrorDetail),
    ))]
pub async fn list_reviews(
    State(state): State<AppState>,
    reader: MaybeAuthUser,
    PathId(product_id): PathId,
    pagination: Pagination,
) -> ApiResult<Json<Page<ReviewView>>> {
    let (count, rows) = service::list_reviews(
        &state.db,
        product_id,
        reader.is_staff(),
        pagination.offset(),
        pagination.limit(),
    )
    .await?;
    Ok(Json(
        pagination.page(
            count,
            rows.into_iter()
                .map(|(row, author)| ReviewView::new(row, author))
                .collect(),
        )?,
    ))
}

/// Review a product you bought (an order with it that is paid, shipped or delivered); once.
#[utoipa::path(post, path = "/api/products/{id}/reviews/", tag = "reviews", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response"), ("id" = i64, Path)),
    request_body = ReviewRequest,
    responses(
        (status = 201, description = "The review", body = ReviewView),
        (status = 400, description = "Invalid field", body = ValidationErrors),
        (status = 403, description = "Not a buyer of the product", body = ErrorDetail),
        (status = 404, description = "No such product (or inactive)", body = ErrorDetail),
        (status = 409, description = "Already reviewed by this user; or a request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_review(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(product_id): PathId,
    Form(request): Form<ReviewRequest>,
) -> ApiResult<(StatusCode, Json<ReviewView>)> {
    let (row, author) = service::create_review(
        &state.db,
        &state.cache,
        user.id(),
        product_id,
        request.into(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(ReviewView::new(row, author))))
}

/// Change your review.
#[utoipa::path(patch, path = "/api/reviews/{id}/", tag = "reviews", security(("jwt" = [])),
    params(("id" = i64, Path)),
    request_body = ReviewChanges,
    responses(
        (status = 200, description = "The review", body = ReviewView),
        (status = 400, description = "Invalid field", body = ValidationErrors),
        (status = 403, description = "Not your review", body = ErrorDetail),
        (status = 404, description = "No such review", body = ErrorDetail),
    ))]
pub async fn update_review(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
    Form(changes): Form<ReviewChanges>,
) -> ApiResult<Json<ReviewView>> {
    let (row, author) =
        service::update_review(&state.db, &state.cache, user.id(), id, changes.into()).await?;
    Ok(Json(ReviewView::new(row, author)))
}

/// Delete your review; staff may delete any.
#[utoipa::path(delete, path = "/api/reviews/{id}/", tag = "reviews", security(("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not your review", body = ErrorDetail),
        (status = 404, description = "No such review", body = ErrorDetail),
    ))]
pub async fn delete_review(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
) -> ApiResult<StatusCode> {
    service::delete_review(&state.db, &state.cache, user.id(), user.is_staff(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
