//! What other apps may ask of the catalog (the cart, orders, reviews): products and their
//! images as they are now, and a product's rating figures. They never query the catalog's
//! tables themselves.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::variants::store as variant_store;
use super::{product, product_image, store, variant};
use crate::cache::ResponseCache;

pub use super::for_sale::{ForSale, for_sale};

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

/// What a cart line names: a variant, or a single-variant product.
#[derive(Debug)]
pub enum Pick {
    /// The variant and its product (either may be inactive: the caller decides).
    Found(Box<(product::Model, variant::Model)>),
    /// No such product (or the variant named is not of it).
    UnknownProduct,
    /// No such variant.
    UnknownVariant,
    /// The product has several variants: one must be named.
    ChooseVariant,
}

/// The variant `variant_id` (of `product_id` when both are given), or the one variant of
/// `product_id`, read on `conn` (a transaction's view).
pub async fn pick<C: ConnectionTrait>(
    conn: &C,
    product_id: Option<i64>,
    variant_id: Option<i64>,
) -> Result<Pick, DbErr> {
    let (product_id, variants) = match (product_id, variant_id) {
        (_, Some(variant_id)) => {
            let Some(found) = variant_store::by_ids(conn, &[variant_id])
                .await?
                .remove(&variant_id)
            else {
                return Ok(Pick::UnknownVariant);
            };
            if product_id.is_some_and(|id| id != found.product_id) {
                return Ok(Pick::UnknownVariant);
            }
            (found.product_id, vec![found])
        }
        (Some(product_id), None) => {
            let all = variant_store::variants_of(conn, &[product_id])
                .await?
                .remove(&product_id)
                .unwrap_or_default();
            (product_id, all)
        }
        (None, None) => return Ok(Pick::UnknownProduct),
    };
    match product::Entity::find_by_id(product_id).one(conn).await? {
        Some(product) => Ok(choose(product, &variants, variant_id)),
        None => Ok(Pick::UnknownProduct),
    }
}

/// As [`pick`], a named variant from the catalog's cache (see [`for_sale`]): nothing read from
/// the database when it is cached as it is now. A product named alone is read from the
/// database (its variants decide). Not for use inside a transaction (it reads on the pool).
pub async fn pick_for_sale(
    cache: &ResponseCache,
    db: &DatabaseConnection,
    product_id: Option<i64>,
    variant_id: Option<i64>,
) -> Result<Pick, DbErr> {
    let Some(variant_id) = variant_id else {
        return pick(db, product_id, None).await;
    };
    match for_sale(cache, db, &[variant_id])
        .await?
        .remove(&variant_id)
    {
        Some(found) if product_id.is_none_or(|id| id == found.product.id) => {
            Ok(choose(found.product, &[found.variant], Some(variant_id)))
        }
        _ => Ok(Pick::UnknownVariant),
    }
}

/// Which of a product's variants a cart line names: `variant_id` if it is one of them, else
/// the product's only variant.
fn choose(product: product::Model, variants: &[variant::Model], variant_id: Option<i64>) -> Pick {
    let chosen = match (variant_id, variants) {
        (Some(id), _) => variants.iter().find(|v| v.id == id),
        (None, [only]) => Some(only),
        (None, []) => return Pick::UnknownProduct,
        (None, _) => return Pick::ChooseVariant,
    };
    match chosen {
        Some(variant) => Pick::Found(Box::new((product, variant.clone()))),
        None => Pick::UnknownVariant,
    }
}

/// These variants, by id (those that exist).
pub async fn variants_by_id<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, variant::Model>, DbErr> {
    variant_store::by_ids(conn, ids).await
}

/// A variant's values in its product's option order, for people: `Size M, Colour Blue`.
pub fn variant_label(product: &product::Model, variant: &variant::Model) -> String {
    super::variants::label(product, variant)
}

/// Whether shoppers see the product (active, with an active variant).
pub fn visible(product: &product::Model) -> bool {
    store::visible(product)
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
