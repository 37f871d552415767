//! Handlers of `/api/categories/`: the list and one category (cached), and staff's create,
//! change and delete.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{cached, normal_pagination, to_bytes};
use crate::auth::StaffUser;
use crate::catalog::categories::{self, CATEGORIES_SCOPE};
use crate::catalog::views::{CategoryChanges, CategoryRequest, CategoryView};
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::extract::{Form, PathId};
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::http::pagination::Page;
use crate::http::reads::Reader;
use crate::state::AppState;

/// Categories, by name.
#[utoipa::path(get, path = "/api/categories/", tag = "catalog", security((), ("jwt" = [])),
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses((status = 200, description = "A page of categories", body = Page<CategoryView>)))]
pub async fn list_categories(
    State(state): State<AppState>,
    reader: Reader,
    context: RequestContext,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let pagination = normal_pagination(&context, &uri, Vec::new())?;
    let key = pagination.cache_key("categories");
    cached(&state, &reader, Some(key), &[CATEGORIES_SCOPE], || async {
        let (count, rows) =
            categories::list_categories(reader.db(&state), pagination.offset(), pagination.limit())
                .await?;
        let body =
            to_bytes(&pagination.page(count, rows.into_iter().map(CategoryView::from).collect())?)?;
        Ok((body, Vec::new()))
    })
    .await
}

/// One category.
#[utoipa::path(get, path = "/api/categories/{id}/", tag = "catalog", security((), ("jwt" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The category", body = CategoryView),
        (status = 404, description = "Not found", body = ErrorDetail),
    ))]
pub async fn get_category(
    State(state): State<AppState>,
    reader: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let key = format!("category {id}");
    cached(&state, &reader, Some(key), &[CATEGORIES_SCOPE], || async {
        let view = CategoryView::from(categories::get_category(reader.db(&state), id).await?);
        Ok((to_bytes(&view)?, Vec::new()))
    })
    .await
}

/// Create a category (staff). The slug is made from the name unless given.
#[utoipa::path(post, path = "/api/categories/", tag = "catalog", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = CategoryRequest,
    responses(
        (status = 201, description = "Created", body = CategoryView),
        (status = 400, description = "Invalid field, taken slug, unknown parent", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
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
