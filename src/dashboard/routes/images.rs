//! A product's images: the upload (with its own body limit, as the API's) and the delete.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::response::Response;
use axum::routing::post;
use tower_http::limit::RequestBodyLimitLayer;

use super::catalog_page::{product_page, rerender};
use crate::catalog::products;
use crate::dashboard::guard::{StaffForm, StaffUpload};
use crate::dashboard::page;
use crate::dashboard::views::forms::FormErrors;
use crate::http::error::field_error;
use crate::state::AppState;

/// The upload's route, with room for a 5 MiB image and the form around it.
pub fn upload_router() -> Router<AppState> {
    let limit = products::MAX_IMAGE_BYTES + 64 * 1024;
    Router::new()
        .route("/admin/products/{id}/images/", post(upload))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
}

pub fn add(router: Router<AppState>) -> Router<AppState> {
    router.route(
        "/admin/products/{id}/images/{image_id}/delete/",
        post(delete),
    )
}

async fn upload(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    upload: StaffUpload,
) -> Response {
    let stored = if upload.image.is_empty() {
        Err(field_error("image", "No file was submitted."))
    } else {
        products::add_image(
            &state.db,
            &state.cache,
            &state.storage,
            &state.image_gate,
            id,
            upload.image,
            upload.is_primary,
        )
        .await
    };
    match stored {
        Ok(_) => page::see_other(&format!("/admin/products/{id}/?done=image")),
        Err(error) => {
            let (status, errors) = FormErrors::of(error);
            match product_page(&state, &upload.staff, id).await {
                Ok(mut page) => {
                    page.errors_of = "image".to_owned();
                    page.errors = errors;
                    page::render_with(status, &page)
                }
                Err(refusal) => refusal.page(),
            }
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    Path((id, image_id)): Path<(i64, i64)>,
    form: StaffForm,
) -> Response {
    match products::delete_image(&state.db, &state.cache, &state.storage, id, image_id).await {
        Ok(()) => page::see_other(&format!("/admin/products/{id}/?done=deleted")),
        Err(e) => rerender(&state, &form, id, "image", e, None).await,
    }
}
