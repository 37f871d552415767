//! A product's images: storing an upload (checked by content) with its sizes and recording it,
//! deleting one, and removing files once the rows that named them are gone.

use bytes::Bytes;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use super::product_tag;
use crate::cache::{Change, ResponseCache};
use crate::catalog::images::sizes::{self, DecodeError, Encoding, MAX_ALLOC, Size, SizeError};
use crate::catalog::images::{self, Format};
use crate::catalog::store::touch;
use crate::catalog::{product, product_image};
use crate::db;
use crate::gate::{Gate, GateError};
use crate::http::error::{ApiError, field_error, internal, not_found};
use crate::storage::{Storage, StorageError};
use crate::time;

/// Deletes the files under `keys`; one that cannot be deleted is logged and left behind.
pub(super) async fn remove_files(storage: &Storage, keys: &[String]) {
    for key in keys {
        if let Err(e) = storage.delete(key).await {
            tracing::warn!(key, error = %e, "could not delete a media file; it is orphaned");
        }
    }
}

/// Stores each file under its key; when one fails, deletes those already stored (and the one
/// that failed) and returns the error.
pub(super) async fn put_files(
    storage: &Storage,
    files: Vec<(String, Bytes)>,
) -> Result<(), StorageError> {
    let keys: Vec<String> = files.iter().map(|(key, _)| key.clone()).collect();
    for (written, (key, bytes)) in files.into_iter().enumerate() {
        if let Err(e) = storage.put(&key, bytes).await {
            remove_files(storage, &keys[..=written]).await;
            return Err(e);
        }
    }
    Ok(())
}

/// The keys of an image's sizes, beside its file and named after it: `products/ab12-small.jpg`
/// for `products/ab12.png`. The same image always gets the same keys, so making its sizes twice
/// writes the same files again instead of leaving copies behind.
pub(super) fn size_keys(storage_key: &str, encoding: Encoding) -> [String; 3] {
    let stem = storage_key
        .rsplit_once('.')
        .map_or(storage_key, |(stem, _)| stem);
    Size::ALL.map(|size| format!("{stem}-{}.{}", size.name(), encoding.extension()))
}

/// The upload and its sizes as files to store, and the row's keys of the sizes.
fn files_of(key: &str, upload: Bytes, made: sizes::Sizes) -> (Vec<(String, Bytes)>, [String; 3]) {
    let keys = size_keys(key, made.encoding);
    let mut files = vec![(key.to_owned(), upload)];
    files.extend(keys.clone().into_iter().zip(made.files.map(Bytes::from)));
    (files, keys)
}

/// Largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Decodes and resizes an upload on the image gate: 400 when its pixels do not decode within
/// the limits, 503 when every image worker is busy and the line is full.
async fn make_sizes(gate: &Gate, bytes: Bytes, format: Format) -> Result<sizes::Sizes, ApiError> {
    match gate.run_blocking(move || sizes::make(&bytes, format)).await {
        Ok(Ok(made)) => Ok(made),
        Ok(Err(SizeError::Decode(DecodeError::Corrupt(cause)))) => {
            tracing::info!(%cause, "an uploaded image does not decode");
            Err(field_error("image", images::NOT_AN_IMAGE))
        }
        Ok(Err(SizeError::Decode(DecodeError::TooLarge))) => Err(field_error(
            "image",
            format!(
                "The image is too large to process: decoding it would take more than {} MiB.",
                MAX_ALLOC / (1024 * 1024)
            ),
        )),
        Ok(Err(e @ SizeError::Encode(_))) => Err(internal(e)),
        Err(GateError::Busy) => Err(ApiError::Overloaded),
        Err(e) => Err(internal(e)),
    }
}

/// Stores an uploaded image (checked by content) and its sizes, and records it; a new primary
/// image unsets the old one. Nothing is stored for an upload that is refused, and a failure
/// after the files were written deletes them all.
pub async fn add_image(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    storage: &Storage,
    gate: &Gate,
    product_id: i64,
    bytes: Bytes,
    is_primary: bool,
) -> Result<product_image::Model, ApiError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let info = images::check(&bytes).map_err(|message| field_error("image", message))?;
    product::Entity::find_by_id(product_id)
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    let made = make_sizes(gate, bytes.clone(), info.format).await?;
    let key = Storage::new_key("products", info.format.extension());
    let (files, [small, medium, large]) = files_of(&key, bytes, made);
    let keys: Vec<String> = files.iter().map(|(key, _)| key.clone()).collect();
    put_files(storage, files).await?;

    let row = product_image::ActiveModel {
        product_id: Set(product_id),
        storage_key: Set(key),
        is_primary: Set(is_primary),
        created_at: Set(time::now()),
        small_key: Set(Some(small)),
        medium_key: Set(Some(medium)),
        large_key: Set(Some(large)),
        ..Default::default()
    };
    let recorded = record_image(db, cache, product_id, row, is_primary).await;
    if recorded.is_err() {
        // The product vanished or the database failed: do not leave the files behind.
        remove_files(storage, &keys).await;
    }
    recorded
}

/// Inserts the row of a new image, in a transaction that holds the product.
async fn record_image(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    product_id: i64,
    row: product_image::ActiveModel,
    is_primary: bool,
) -> Result<product_image::Model, ApiError> {
    let recorded = async {
        let tx = db::begin_write(db).await?;
        // Lock the product row so that two uploads for one product take turns (at most one
        // primary image); SQLite's write lock already does that.
        product::Entity::find_by_id(product_id)
            .lock_exclusive()
            .one(&tx)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("product {product_id}")))?;
        if is_primary {
            product_image::Entity::update_many()
                .col_expr(product_image::Column::IsPrimary, Expr::value(false))
                .filter(product_image::Column::ProductId.eq(product_id))
                .exec(&tx)
                .await?;
        }
        let row = row.insert(&tx).await?;
        let version = touch(&tx, product_id).await?;
        Ok::<_, DbErr>((tx, row, version))
    }
    .await;
    match recorded {
        Ok((tx, row, version)) => {
            let mut change = Change::new();
            change.row(product_tag(product_id), version);
            cache
                .commit(tx, change)
                .await
                .map(|()| row)
                .map_err(ApiError::from)
        }
        Err(e)
            if crate::db::is_foreign_key_violation(&e) || matches!(e, DbErr::RecordNotFound(_)) =>
        {
            Err(not_found())
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes an image of a product, and its files (the upload and its sizes).
pub async fn delete_image(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    storage: &Storage,
    product_id: i64,
    image_id: i64,
) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
    let image = product_image::Entity::find_by_id(image_id)
        .filter(product_image::Column::ProductId.eq(product_id))
        .one(&tx)
        .await?
        .ok_or_else(not_found)?;
    product_image::Entity::delete_by_id(image_id)
        .exec(&tx)
        .await?;
    let version = touch(&tx, product_id).await?;
    let mut change = Change::new();
    change.row(product_tag(product_id), version);
    cache.commit(tx, change).await?;
    remove_files(storage, &image.keys()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_stored_beside_the_image_under_its_name() {
        assert_eq!(
            size_keys("products/ab12.png", Encoding::Jpeg),
            [
                "products/ab12-small.jpg",
                "products/ab12-medium.jpg",
                "products/ab12-large.jpg"
            ]
        );
        assert_eq!(
            size_keys("products/cd34.webp", Encoding::Png)[2],
            "products/cd34-large.png"
        );
    }
}
