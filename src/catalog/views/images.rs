//! The views of a product's images: the image with its sizes, and the upload form.

use serde::Serialize;
use utoipa::ToSchema;

use crate::catalog::product_image;
use crate::http::error::{ApiError, bad_request, field_error};
use crate::storage::Storage;

/// An image of a product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    pub id: i64,
    /// Absolute URL of the file as uploaded.
    pub image: String,
    pub is_primary: bool,
    pub thumbnails: Thumbnails,
}

/// Absolute URLs of an image's sizes: upright, without metadata, JPEG (PNG when the image has
/// transparency), never larger than the image. An image uploaded before sizes existed shows its
/// original for each until they are made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Thumbnails {
    /// Longest side at most 200 pixels.
    pub small: String,
    /// Longest side at most 480 pixels.
    pub medium: String,
    /// Longest side at most 1080 pixels.
    pub large: String,
}

impl ImageView {
    /// The view of `row`, its URLs built by the media store.
    pub fn new(row: &product_image::Model, storage: &Storage, base_url: &str) -> ImageView {
        let image = storage.url(&row.storage_key, base_url);
        let size = |key: &Option<String>| {
            key.as_deref()
                .map_or_else(|| image.clone(), |key| storage.url(key, base_url))
        };
        ImageView {
            id: row.id,
            thumbnails: Thumbnails {
                small: size(&row.small_key),
                medium: size(&row.medium_key),
                large: size(&row.large_key),
            },
            image,
            is_primary: row.is_primary,
        }
    }
}

/// `POST /api/products/{id}/images/`: `multipart/form-data`, read by its own extractor.
#[derive(Debug, ToSchema)]
pub struct ImageUpload {
    /// JPEG, PNG or WebP, at most 5 MiB.
    #[schema(value_type = String, format = Binary)]
    pub image: bytes::Bytes,
    /// `true` or `false` (also `1`/`0`, `on`/`off`, `yes`/`no`); default `false`.
    #[schema(required = false, nullable = false, default = false)]
    pub is_primary: bool,
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for ImageUpload {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        use axum::extract::multipart::{Multipart, MultipartError};
        use axum::http::StatusCode;
        let rejected = |e: MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                bad_request(format!("Multipart form parse error - {}", e.body_text()))
            }
        };
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|e| bad_request(e.body_text()))?;
        let (mut image, mut is_primary) = (None, false);
        while let Some(field) = multipart.next_field().await.map_err(rejected)? {
            match field.name() {
                Some("image") => {
                    let bytes = field.bytes().await.map_err(rejected)?;
                    if bytes.len() > crate::catalog::products::MAX_IMAGE_BYTES {
                        return Err(ApiError::PayloadTooLarge);
                    }
                    image = Some(bytes);
                }
                Some("is_primary") => {
                    let text = field.text().await.map_err(rejected)?;
                    is_primary = match text.trim().to_ascii_lowercase().as_str() {
                        "true" | "1" | "on" | "yes" => true,
                        "false" | "0" | "off" | "no" | "" => false,
                        _ => return Err(field_error("is_primary", "Must be a valid boolean.")),
                    };
                }
                _ => {}
            }
        }
        let image = image.ok_or_else(|| field_error("image", "No file was submitted."))?;
        Ok(ImageUpload { image, is_primary })
    }
}
