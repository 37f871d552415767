//! Handlers of a product's images (staff): the upload and the delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::auth::StaffUser;
use crate::catalog::products;
use crate::catalog::views::{ImageUpload, ImageView};
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::extract::PathId;
use crate::http::openapi::{ErrorDetail, ValidationErrors};
use crate::state::AppState;

/// Upload an image of a product (staff): JPEG, PNG or WebP, checked by content, ≤ 5 MiB.
///
/// At most 40 megapixels (read from the header before anything is decoded), and its pixels must
/// decode. Its sizes (`thumbnails`: longest side ≤ 200, 480 and 1080 px, upright, without
/// metadata) are made before it is recorded; when every image worker is busy and the line is
/// full → 503 with `Retry-After`.
#[utoipa::path(post, path = "/api/products/{id}/images/", tag = "catalog", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response"), ("id" = i64, Path)),
    request_body(content = ImageUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = ImageView),
        (status = 400, description = "Not an image, pixels that do not decode, or over 40 megapixels", body = ValidationErrors),
        (status = 413, description = "Over 5 MiB", body = ErrorDetail),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 409, description = "A request with the same Idempotency-Key is still being processed", body = ErrorDetail),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
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
        &state.image_gate,
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

/// Delete an image of a product with its files, the upload and its sizes (staff).
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
