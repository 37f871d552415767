//! A product's images: storing an upload (checked by content) and recording it, deleting one,
//! and removing files once the rows that named them are gone.

use bytes::Bytes;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use super::product_tag;
use crate::cache::{Change, ResponseCache};
use crate::catalog::store::touch;
use crate::catalog::{images, product, product_image};
use crate::db;
use crate::http::error::{ApiError, field_error, not_found};
use crate::storage::Storage;
use crate::time;

/// Deletes the files under `keys`; one that cannot be deleted is logged and left behind.
pub(super) async fn remove_files(storage: &Storage, keys: &[String]) {
    for key in keys {
        if let Err(e) = storage.delete(key).await {
            tracing::warn!(key, error = %e, "could not delete a media file; it is orphaned");
        }
    }
}

/// Largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Stores an uploaded image (checked by content) and records it; a new primary image unsets
/// the old one.
pub async fn add_image(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    storage: &Storage,
    product_id: i64,
    bytes: Bytes,
    is_primary: bool,
) -> Result<product_image::Model, ApiError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let info = images::inspect(&bytes).ok_or_else(|| field_error("image", images::NOT_AN_IMAGE))?;
    product::Entity::find_by_id(product_id)
        .one(db)
        .await?
        .ok_or_else(not_found)?;
    let key = Storage::new_key("products", info.format.extension());
    storage.put(&key, bytes).await?;

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
        let row = product_image::ActiveModel {
            product_id: Set(product_id),
            storage_key: Set(key.clone()),
            is_primary: Set(is_primary),
            created_at: Set(time::now()),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        let version = touch(&tx, product_id).await?;
        Ok::<_, DbErr>((tx, row, version))
    }
    .await;
    let committed = match recorded {
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
    };
    if committed.is_err() {
        // The product vanished or the database failed: do not leave the file behind.
        remove_files(storage, &[key]).await;
    }
    committed
}

/// Deletes an image of a product, and its file.
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
    remove_files(storage, &[image.storage_key]).await;
    Ok(())
}
