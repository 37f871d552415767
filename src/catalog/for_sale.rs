//! Products as a cart shows them, from the response cache: a product, its variants and its
//! images kept as one entry checked against the product's row version like every cached
//! response, so a cart read asks the database for the cart's own rows only. Every write a cart
//! line depends on — a price, a variant's stock or activity, an image, the product itself —
//! moves the product's version (see `inventory`, `variants::writes`, `products`), and the next
//! read on any node builds the entry again.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::products::product_tag;
use super::{product, product_image, store, variant};
use crate::cache::{Lookup, ResponseCache, Snapshot};

/// A product with everything a cart line shows of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForSale {
    pub product: product::Model,
    /// Every variant, in id order (active or not: a line shows why it cannot be bought).
    pub variants: Vec<variant::Model>,
    /// Its images, the primary first.
    pub images: Vec<product_image::Model>,
}

impl ForSale {
    /// The variant `id` of this product.
    pub fn variant(&self, id: i64) -> Option<&variant::Model> {
        self.variants.iter().find(|v| v.id == id)
    }
}

fn key(id: i64) -> String {
    format!("for-sale:{id}")
}

/// The products with these ids that exist, by id: from the cache where it holds them as they
/// are now, else from `db` (two statements for all that were missing), stored for the next
/// read.
pub async fn for_sale(
    cache: &ResponseCache,
    db: &DatabaseConnection,
    ids: &[i64],
) -> Result<HashMap<i64, ForSale>, DbErr> {
    let mut found = HashMap::with_capacity(ids.len());
    let mut missing: Vec<(i64, Option<Snapshot>)> = Vec::new();
    for &id in ids {
        if found.contains_key(&id) || missing.iter().any(|(m, _)| *m == id) {
            continue;
        }
        match cache.lookup(&key(id), &[]).await {
            Lookup::Hit(body) => match serde_json::from_slice::<ForSale>(&body) {
                Ok(product) => {
                    found.insert(id, product);
                }
                Err(_) => missing.push((id, None)),
            },
            Lookup::Miss(snapshot) => missing.push((id, Some(snapshot))),
            Lookup::Bypass => missing.push((id, None)),
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let wanted: Vec<i64> = missing.iter().map(|(id, _)| *id).collect();
    for product in build(db, &wanted).await? {
        let id = product.product.id;
        // Products that no longer exist were not built; the others take their lookup's
        // snapshot.
        let snapshot = missing
            .iter()
            .position(|(m, _)| *m == id)
            .and_then(|at| missing.swap_remove(at).1);
        if let Some(snapshot) = snapshot
            && let Ok(body) = serde_json::to_vec(&product)
        {
            let rows = vec![(product_tag(id), product.product.version)];
            cache.store(key(id), snapshot, rows, body.into()).await;
        }
        found.insert(id, product);
    }
    Ok(found)
}

/// Reads the products with their variants (one statement), then their images. The products
/// come first: an entry is stored under the version read with the product, so a write that
/// lands before the images are read leaves the entry older than the version it names — never
/// stored, or refused on its next read.
async fn build(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<ForSale>, DbErr> {
    let products = product::Entity::find()
        .filter(product::Column::Id.is_in(ids.iter().copied()))
        .find_with_related(variant::Entity)
        .all(db)
        .await?;
    let present: Vec<i64> = products.iter().map(|(p, _)| p.id).collect();
    let mut images = store::images_of(db, &present).await?;
    Ok(products
        .into_iter()
        .map(|(product, mut variants)| {
            variants.sort_by_key(|v| v.id);
            ForSale {
                variants,
                images: images.remove(&product.id).unwrap_or_default(),
                product,
            }
        })
        .collect())
}
