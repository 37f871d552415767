//! Options and variants: a product is sold as variants — one per combination of its option
//! values, one for a product without options — each with its own SKU, price, stock and
//! picture. Stock moves through `crate::catalog::inventory`; this module creates, changes and
//! deletes variants, keeps the product's figures (lowest price, stock, active count) with every
//! write, and reads them for show.
//!
//! The pieces: `options.rs` the rules of options and choices, `store.rs` the queries,
//! `writes.rs` the writes in the caller's transaction, `views.rs` the request and response types.

pub mod listing;
pub mod options;
pub mod store;
pub mod views;
mod writes;

use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::cache::ResponseCache;
use crate::catalog::products::record_updated;
use crate::catalog::products::shown::Showing;
use crate::catalog::{product, variant};
use crate::db;
use crate::http::error::{ApiError, conflict, not_found};
use views::VariantInput;

pub use listing::{in_order, options_of};
pub use store::VariantFilter;
pub use writes::{MAX_VARIANTS, change_options, lock_product, settle};

/// A product's variants as shown; 404 for a product shoppers cannot see (unless staff).
pub async fn list(
    db: &DatabaseConnection,
    product_id: i64,
    include_inactive: bool,
) -> Result<Vec<variant::Model>, ApiError> {
    let row = crate::catalog::store::get_product(db, product_id, include_inactive).await?;
    Ok(in_order(&row.product, row.variants, include_inactive))
}

/// The variant of a product that has exactly one (the product-level stock endpoints); 404
/// without the product, 409 when it has several.
pub async fn only_variant(db: &DatabaseConnection, product_id: i64) -> Result<i64, ApiError> {
    match store::count_and_first(db, product_id).await? {
        (1, Some(id)) => Ok(id),
        (0, _) => Err(not_found()),
        _ => Err(conflict(
            "This product has several variants: use /api/variants/{variant_id}/stock/.",
        )),
    }
}

/// `(product_id, variant_id)` of a variant; 404 when missing.
pub async fn owner(db: &DatabaseConnection, variant_id: i64) -> Result<(i64, i64), ApiError> {
    store::by_ids(db, &[variant_id])
        .await?
        .remove(&variant_id)
        .map(|v| (v.product_id, v.id))
        .ok_or_else(not_found)
}

/// One variant as it is now; 404 when missing.
pub async fn get(db: &DatabaseConnection, variant_id: i64) -> Result<variant::Model, ApiError> {
    store::by_ids(db, &[variant_id])
        .await?
        .remove(&variant_id)
        .ok_or_else(not_found)
}

/// Adds a variant to a product (staff).
pub async fn create(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    product_id: i64,
    input: VariantInput,
    reference: String,
    showing: Showing<'_>,
) -> Result<variant::Model, ApiError> {
    let tx = db::begin_write_committed(db).await?;
    let product = lock_product(&tx, product_id).await?;
    let row = writes::insert(&tx, &product, &input, ("variant created", &reference)).await?;
    let (_, change) = settle(&tx, &product, false).await?;
    record_updated(&tx, product_id, showing).await?;
    cache.commit(tx, change).await?;
    Ok(row)
}

/// Adds several variants to a product in one transaction (the dashboard's "create the missing
/// combinations"): all of them, or none when one is refused.
pub async fn create_many(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    product_id: i64,
    inputs: Vec<VariantInput>,
    reference: String,
    showing: Showing<'_>,
) -> Result<Vec<variant::Model>, ApiError> {
    if inputs.len() > MAX_VARIANTS as usize {
        return Err(crate::http::error::field_error(
            "variants",
            "Too many variants.",
        ));
    }
    let tx = db::begin_write_committed(db).await?;
    let product = lock_product(&tx, product_id).await?;
    let mut rows = Vec::with_capacity(inputs.len());
    for input in &inputs {
        rows.push(writes::insert(&tx, &product, input, ("variant created", &reference)).await?);
    }
    let (_, change) = settle(&tx, &product, false).await?;
    record_updated(&tx, product_id, showing).await?;
    cache.commit(tx, change).await?;
    Ok(rows)
}

/// Changes a variant of a product (staff).
pub async fn update(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    (product_id, variant_id): (i64, i64),
    input: VariantInput,
    reference: String,
    showing: Showing<'_>,
) -> Result<variant::Model, ApiError> {
    let tx = db::begin_write_committed(db).await?;
    let product = lock_product(&tx, product_id).await?;
    let current = writes::lock_variant(&tx, product_id, variant_id).await?;
    let row = writes::change(&tx, &product, current, &input, ("variant edit", &reference)).await?;
    let (_, change) = settle(&tx, &product, false).await?;
    record_updated(&tx, product_id, showing).await?;
    cache.commit(tx, change).await?;
    Ok(row)
}

/// Deletes a variant of a product (staff) — or deactivates it when it was ever ordered; the
/// last one stays (409).
pub async fn delete(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    (product_id, variant_id): (i64, i64),
    showing: Showing<'_>,
) -> Result<(), ApiError> {
    let tx = db::begin_write_committed(db).await?;
    let product = lock_product(&tx, product_id).await?;
    let current = writes::lock_variant(&tx, product_id, variant_id).await?;
    writes::remove(&tx, &product, &current).await?;
    let (_, change) = settle(&tx, &product, false).await?;
    record_updated(&tx, product_id, showing).await?;
    cache.commit(tx, change).await?;
    Ok(())
}

/// The variants of a product just inserted (locked, in `tx`): `variants` as given with its
/// `options`, else its one variant from its price and stock (`sku` as given, else `P{id}` or
/// the first free `P{id}-n`).
pub async fn create_for_product(
    tx: &DatabaseTransaction,
    product: &product::Model,
    variants: Vec<VariantInput>,
    single: Option<VariantInput>,
    reference: &str,
) -> Result<(), ApiError> {
    if let Some(mut single) = single {
        if single.sku.is_none() {
            single.sku = Some(free_sku(tx, product.id).await?);
        }
        writes::insert(tx, product, &single, ("product created", reference)).await?;
    }
    for (at, input) in variants.iter().enumerate() {
        writes::insert(tx, product, input, ("variant created", reference))
            .await
            .map_err(|e| match e {
                ApiError::Validation(errors) => {
                    ApiError::Validation(errors.in_list("variants", at))
                }
                other => other,
            })?;
    }
    Ok(())
}

/// `P{id}`, or the first of `P{id}-2`… that no variant has.
async fn free_sku(tx: &DatabaseTransaction, product_id: i64) -> Result<String, ApiError> {
    let candidates: Vec<String> = std::iter::once(format!("P{product_id}"))
        .chain((2..=20).map(|n| format!("P{product_id}-{n}")))
        .collect();
    let keys: Vec<String> = candidates.iter().map(|c| c.to_lowercase()).collect();
    let taken = store::taken_skus(tx, &keys).await?;
    Ok(candidates
        .into_iter()
        .find(|c| !taken.contains(&c.to_lowercase()))
        .unwrap_or_else(|| {
            format!(
                "P{product_id}-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            )
        }))
}

/// Sets the price and the stock of a single-variant product's variant (a product `PATCH`);
/// 400 naming the variant endpoints when the product has several.
pub async fn set_single(
    tx: &DatabaseTransaction,
    product: &product::Model,
    input: VariantInput,
    reference: &str,
) -> Result<(), ApiError> {
    let (count, first) = store::count_and_first(tx, product.id).await?;
    let (1, Some(variant_id)) = (count, first) else {
        let field = if input.price.is_some() {
            "price"
        } else {
            "stock"
        };
        return Err(crate::http::error::field_error(
            field,
            "This product has several variants: change them at /api/products/{id}/variants/{variant_id}/.",
        ));
    };
    let current = writes::lock_variant(tx, product.id, variant_id).await?;
    writes::change(tx, product, current, &input, ("product edit", reference)).await?;
    Ok(())
}

/// A variant's values in its product's option order, for people: `Size M, Colour Blue` (`""`
/// without options).
pub fn label(product: &product::Model, variant: &variant::Model) -> String {
    let shown = views::shown_options(variant);
    options_of(product)
        .iter()
        .filter_map(|option| {
            let value = shown.get(&option.name)?.as_str()?;
            Some(format!("{} {value}", option.name))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
