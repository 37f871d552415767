//! Variants as a cart line shows them, from the response cache: a variant with its product and
//! the product's images, one entry per variant checked against the product's row version like
//! every cached response, so a cart read asks the database for the cart's own rows only. Every
//! write a cart line depends on — a price, a variant's stock or activity, an image, the product
//! itself — moves the product's version (see `inventory`, `variants::writes`, `products`), and
//! the next read on any node builds the entry again. An entry holds one variant, whatever the
//! number its product has: a line never decodes the others.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use super::products::product_tag;
use super::{product, product_image, store, variant};
use crate::cache::{Lookup, ResponseCache, Snapshot};

/// A variant with everything a cart line shows of it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForSale {
    pub product: product::Model,
    pub variant: variant::Model,
    /// The product's images, the primary first.
    pub images: Vec<product_image::Model>,
}

fn key(variant_id: i64) -> String {
    format!("for-sale:{variant_id}")
}

/// The variants with these ids that exist, by id: from the cache where it holds them as they
/// are now, else from `db` (two statements for all that were missing), stored for the next
/// read. Reads on the pool: never call it while the request holds a transaction.
pub async fn for_sale(
    cache: &ResponseCache,
    db: &DatabaseConnection,
    variant_ids: &[i64],
) -> Result<HashMap<i64, ForSale>, DbErr> {
    let mut found = HashMap::with_capacity(variant_ids.len());
    let mut missing: Vec<(i64, Option<Snapshot>)> = Vec::new();
    for &id in variant_ids {
        if found.contains_key(&id) || missing.iter().any(|(m, _)| *m == id) {
            continue;
        }
        match cache.lookup(&key(id), &[]).await {
            Lookup::Hit(body) => match serde_json::from_slice::<ForSale>(&body) {
                Ok(line) => {
                    found.insert(id, line);
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
    for line in build(db, &wanted).await? {
        let id = line.variant.id;
        // Variants that no longer exist were not built; the others take their lookup's
        // snapshot.
        let snapshot = missing
            .iter()
            .position(|(m, _)| *m == id)
            .and_then(|at| missing.swap_remove(at).1);
        if let Some(snapshot) = snapshot
            && let Ok(body) = serde_json::to_vec(&line)
        {
            let rows = vec![(product_tag(line.product.id), line.product.version)];
            cache.store(key(id), snapshot, rows, body.into()).await;
        }
        found.insert(id, line);
    }
    Ok(found)
}

/// Reads the variants with their products (one statement), then the products' images. The
/// product comes with its variant, before the images: an entry is stored under the version
/// read with the product, so a write that lands before the images are read leaves the entry
/// older than the version it names — never stored, or refused on its next read.
async fn build(db: &DatabaseConnection, variant_ids: &[i64]) -> Result<Vec<ForSale>, DbErr> {
    let rows = variant::Entity::find()
        .filter(variant::Column::Id.is_in(variant_ids.iter().copied()))
        .find_also_related(product::Entity)
        .all(db)
        .await?;
    let mut products: Vec<i64> = rows
        .iter()
        .filter_map(|(_, product)| product.as_ref().map(|p| p.id))
        .collect();
    products.sort_unstable();
    products.dedup();
    let images = store::images_of(db, &products).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(variant, product)| {
            let product = product?;
            Some(ForSale {
                images: images.get(&product.id).cloned().unwrap_or_default(),
                variant,
                product,
            })
        })
        .collect())
}
