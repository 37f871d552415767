//! What other apps may ask of the catalog (the cart, orders, reviews): products and their
//! images as they are now, and a product's rating figures. They never query the catalog's
//! tables themselves.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::{product, product_image, store};

/// The product if it exists and is active.
pub async fn active_product<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<product::Model>, DbErr> {
    Ok(product::Entity::find_by_id(id)
        .one(conn)
        .await?
        .filter(|p| p.is_active))
}

/// The products with these ids, by id (those that exist).
pub async fn products_by_id<C: ConnectionTrait>(
    conn: &C,
    ids: Vec<i64>,
) -> Result<Vec<product::Model>, DbErr> {
    product::Entity::find()
        .filter(product::Column::Id.is_in(ids))
        .order_by_asc(product::Column::Id)
        .all(conn)
        .await
}

/// The images of these products, by product, the primary first.
pub async fn images_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<product_image::Model>>, DbErr> {
    store::images_of(conn, ids).await
}

/// Moves a product's count of reviews by `count` and its sum of ratings by `total`, in the
/// caller's transaction; returns the product's new version (cached responses show the rating).
pub async fn rate<C: ConnectionTrait>(
    conn: &C,
    product_id: i64,
    count: i64,
    total: i64,
) -> Result<i64, DbErr> {
    store::rate(conn, product_id, count, total).await
}
