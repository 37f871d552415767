//! Writing variants, each in the caller's transaction with the product's row locked first:
//! inserting one (its SKU free in the shop, its combination free in the product — the unique
//! indexes have the last word), changing one, deleting one (or deactivating one that was ever
//! ordered), and what follows every write: the product's figures, its version, its place in
//! the search index and what the cache must hear.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set, TransactionTrait,
};

use super::options::{self, ProductOption};
use super::store;
use super::views::VariantInput;
use crate::cache::Change;
use crate::catalog::inventory::{self, Applied, Cause, IN_STOCK_SCOPE};
use crate::catalog::products::{LISTING_SCOPE, product_tag};
use crate::catalog::search::index;
use crate::catalog::{product, product_image, variant};
use crate::db;
use crate::http::error::{ApiError, conflict, field_error, not_found};
use crate::money::Money;
use crate::time;

/// Most variants one product may have.
pub const MAX_VARIANTS: u64 = 1000;

const SKU_TAKEN: &str = "A variant with this SKU already exists.";
const COMBINATION_TAKEN: &str = "This product already has a variant with these options.";

/// The product, row-locked until the transaction ends; 404 when missing.
pub async fn lock_product(
    tx: &DatabaseTransaction,
    product_id: i64,
) -> Result<product::Model, ApiError> {
    product::Entity::find_by_id(product_id)
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(not_found)
}

/// The variant of `product_id`, row-locked (after its product); 404 when missing.
pub async fn lock_variant(
    tx: &DatabaseTransaction,
    product_id: i64,
    variant_id: i64,
) -> Result<variant::Model, ApiError> {
    variant::Entity::find_by_id(variant_id)
        .filter(variant::Column::ProductId.eq(product_id))
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(not_found)
}

/// A 400 on `image_id` unless it names an image of the product.
async fn check_image(
    tx: &DatabaseTransaction,
    product_id: i64,
    image_id: Option<i64>,
) -> Result<(), ApiError> {
    let Some(image_id) = image_id else {
        return Ok(());
    };
    let found = product_image::Entity::find_by_id(image_id)
        .filter(product_image::Column::ProductId.eq(product_id))
        .one(tx)
        .await?;
    if found.is_none() {
        return Err(field_error(
            "image_id",
            "Choose one of this product's images.",
        ));
    }
    Ok(())
}

/// Maps a unique violation of a variant write to its meaning: a taken SKU (400 on `sku`) or a
/// taken combination (409). Runs after the savepoint that failed was rolled back.
async fn taken(tx: &DatabaseTransaction, sku_key: &str) -> Result<ApiError, ApiError> {
    if !store::taken_skus(tx, &[sku_key.to_owned()])
        .await?
        .is_empty()
    {
        return Ok(field_error("sku", SKU_TAKEN));
    }
    Ok(conflict(COMBINATION_TAKEN))
}

/// Runs `write` in a savepoint; a unique violation becomes [`taken`]'s answer.
async fn guarded<T>(
    tx: &DatabaseTransaction,
    sku_key: &str,
    write: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, DbErr>,
) -> Result<T, ApiError> {
    let savepoint = tx.begin().await?;
    match write(&savepoint).await {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(value)
        }
        Err(e) if db::is_unique_violation(&e) => {
            savepoint.rollback().await?;
            Err(taken(tx, sku_key).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Inserts a variant of `product` (locked) with `input` (its `sku` and `price` present), and
/// the movement of its first stock. The caller then calls [`settle`].
pub async fn insert(
    tx: &DatabaseTransaction,
    product: &product::Model,
    input: &VariantInput,
    (reason, reference): (&str, &str),
) -> Result<variant::Model, ApiError> {
    let (Some(sku), Some(price)) = (input.sku.clone(), input.price) else {
        return Err(crate::http::error::bad_request(
            "sku and price are required.",
        ));
    };
    let product_options = options::from_column(product.options.as_deref());
    let choice = options::choose(&product_options, &input.options.clone().unwrap_or_default())
        .map_err(|message| field_error("options", message))?;
    check_image(tx, product.id, input.image_id.flatten()).await?;
    let (count, _) = store::count_and_first(tx, product.id).await?;
    if count >= MAX_VARIANTS {
        return Err(conflict(format!(
            "A product has at most {MAX_VARIANTS} variants."
        )));
    }
    // A taken SKU or combination is the unique indexes' answer (see `guarded`), not a
    // look before the write that a parallel request could race.
    let sku_key = sku.to_lowercase();
    let now = time::now();
    let [option1, option2, option3] = choice.keys;
    let row = variant::ActiveModel {
        product_id: Set(product.id),
        sku: Set(sku),
        sku_key: Set(sku_key.clone()),
        option1: Set(option1),
        option2: Set(option2),
        option3: Set(option3),
        options: Set(Some(serde_json::Value::Object(choice.shown).to_string())),
        price: Set(price.minor()),
        compare_at_price: Set(input.compare_at_price.flatten().map(Money::minor)),
        stock: Set(input.stock.unwrap_or(0)),
        is_active: Set(input.is_active.unwrap_or(true)),
        weight_grams: Set(input.weight_grams.flatten()),
        tax_class: Set(input.tax_class.clone().flatten()),
        image_id: Set(input.image_id.flatten()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let row = guarded(tx, &sku_key, async |conn| row.insert(conn).await).await?;
    if row.stock > 0 {
        // The first movement, so that a variant's movements always add up to its stock.
        let cause = Cause {
            reason: reason.to_owned(),
            reference: reference.to_owned(),
            idempotency_key: None,
        };
        inventory::record_edit(tx, &applied(product, &row), 0, &cause).await?;
    }
    Ok(row)
}

/// What a movement records of `row`.
fn applied(product: &product::Model, row: &variant::Model) -> Applied {
    Applied {
        product_id: product.id,
        variant_id: row.id,
        stock_after: row.stock,
        version: product.version,
        price: row.price,
        is_active: product.is_active && row.is_active,
        sku: row.sku.clone(),
        options: row.options.clone().unwrap_or_else(|| "{}".to_owned()),
    }
}

/// Changes the given fields of a variant (locked, of `product`, locked); a new `stock` is an
/// absolute set recorded as a movement. The caller then calls [`settle`].
pub async fn change(
    tx: &DatabaseTransaction,
    product: &product::Model,
    current: variant::Model,
    input: &VariantInput,
    (reason, reference): (&str, &str),
) -> Result<variant::Model, ApiError> {
    let stock_before = current.stock;
    let mut row: variant::ActiveModel = current.clone().into();
    if let Some(given) = &input.options {
        let product_options = options::from_column(product.options.as_deref());
        let choice = options::choose(&product_options, given)
            .map_err(|message| field_error("options", message))?;
        let [option1, option2, option3] = choice.keys;
        row.option1 = Set(option1);
        row.option2 = Set(option2);
        row.option3 = Set(option3);
        row.options = Set(Some(serde_json::Value::Object(choice.shown).to_string()));
    }
    if let Some(image_id) = input.image_id {
        check_image(tx, product.id, image_id).await?;
        row.image_id = Set(image_id);
    }
    let sku_key = match &input.sku {
        Some(sku) => {
            let key = sku.to_lowercase();
            row.sku = Set(sku.clone());
            row.sku_key = Set(key.clone());
            key
        }
        None => current.sku_key.clone(),
    };
    db::set_given(&mut row.price, input.price.map(Money::minor));
    db::set_given(
        &mut row.compare_at_price,
        input.compare_at_price.map(|p| p.map(Money::minor)),
    );
    db::set_given(&mut row.stock, input.stock);
    db::set_given(&mut row.is_active, input.is_active);
    db::set_given(&mut row.weight_grams, input.weight_grams);
    db::set_given(&mut row.tax_class, input.tax_class.clone());
    row.updated_at = Set(time::now());
    let row = guarded(tx, &sku_key, async |conn| row.update(conn).await).await?;
    if row.stock != stock_before {
        let cause = Cause {
            reason: reason.to_owned(),
            reference: reference.to_owned(),
            idempotency_key: None,
        };
        inventory::record_edit(tx, &applied(product, &row), stock_before, &cause).await?;
    }
    Ok(row)
}

/// After a write of `before`'s variants: the product's figures and version, its search
/// postings when shoppers start or stop seeing it (unless `unindexed`: a product just created,
/// which the caller indexes), and the cache's change (the product's row, and the lists: a
/// variant's price, options or activity move what they show).
pub async fn settle(
    tx: &DatabaseTransaction,
    before: &product::Model,
    unindexed: bool,
) -> Result<(product::Model, Change), ApiError> {
    store::refresh_figures(tx, &[before.id]).await?;
    let after = product::Entity::find_by_id(before.id)
        .one(tx)
        .await?
        .ok_or_else(not_found)?;
    let visible = |p: &product::Model| p.is_active && p.active_variants > 0;
    if !unindexed && visible(before) != visible(&after) {
        index::index_product(tx, crate::catalog::products::indexed(&after), false).await?;
    }
    let mut change = Change::new();
    change
        .row(product_tag(after.id), after.version)
        .scope(LISTING_SCOPE);
    if (before.stock > 0) != (after.stock > 0) || before.active_variants != after.active_variants {
        change.scope(IN_STOCK_SCOPE);
    }
    Ok((after, change))
}

/// Deletes a variant of `product` (locked) — or, if an order ever took it, deactivates it —
/// unless it is the product's last (409). Its cart lines go with it. The caller then calls
/// [`settle`].
pub async fn remove(
    tx: &DatabaseTransaction,
    product: &product::Model,
    current: &variant::Model,
) -> Result<(), ApiError> {
    let (count, _) = store::count_and_first(tx, product.id).await?;
    if count <= 1 {
        return Err(conflict(
            "This is the product's last variant: deactivate the product instead.",
        ));
    }
    if store::was_ordered(tx, current.id).await? {
        variant::Entity::update_many()
            .col_expr(variant::Column::IsActive, false.into())
            .col_expr(variant::Column::UpdatedAt, time::now().into())
            .filter(variant::Column::Id.eq(current.id))
            .exec(tx)
            .await?;
        return Ok(());
    }
    variant::Entity::delete_by_id(current.id).exec(tx).await?;
    Ok(())
}

/// Makes the product's options `wanted` and its variants follow: an option added gives every
/// variant its first value; an option removed is refused (409) while the product has more
/// than one variant; a value removed that a variant uses → 409. Every variant's keys are
/// written again (the options' order may have changed).
pub async fn change_options(
    tx: &DatabaseTransaction,
    product: &product::Model,
    wanted: &[ProductOption],
) -> Result<(), ApiError> {
    let variants = store::variants_of(tx, &[product.id])
        .await?
        .remove(&product.id)
        .unwrap_or_default();
    let had = options::from_column(product.options.as_deref());
    let same_name = |a: &str, b: &str| a.to_lowercase() == b.to_lowercase();
    let dropped: Vec<&ProductOption> = had
        .iter()
        .filter(|o| !wanted.iter().any(|w| same_name(&w.name, &o.name)))
        .collect();
    if !dropped.is_empty() && variants.len() > 1 {
        return Err(conflict(format!(
            "The option {} is used by this product's variants: it cannot be removed.",
            dropped[0].name
        )));
    }
    let mut rewritten = Vec::with_capacity(variants.len());
    for row in &variants {
        let mut shown = super::views::shown_options(row);
        shown.retain(|name, _| wanted.iter().any(|w| same_name(&w.name, name)));
        for option in wanted {
            if !shown.keys().any(|name| same_name(name, &option.name))
                && let Some(first) = option.values.first()
            {
                shown.insert(option.name.clone(), first.clone().into());
            }
        }
        let choice = options::choose(wanted, &shown).map_err(|_| {
            conflict(format!(
                "The variant {} uses an option value that would be removed.",
                row.sku
            ))
        })?;
        rewritten.push((row.id, row.sku_key.clone(), choice));
    }
    product::Entity::update_many()
        .col_expr(product::Column::Options, options::to_column(wanted).into())
        .filter(product::Column::Id.eq(product.id))
        .exec(tx)
        .await?;
    for (id, sku_key, choice) in rewritten {
        let [option1, option2, option3] = choice.keys;
        let update = variant::Entity::update_many()
            .col_expr(variant::Column::Option1, option1.into())
            .col_expr(variant::Column::Option2, option2.into())
            .col_expr(variant::Column::Option3, option3.into())
            .col_expr(
                variant::Column::Options,
                Some(serde_json::Value::Object(choice.shown).to_string()).into(),
            )
            .filter(variant::Column::Id.eq(id));
        guarded(tx, &sku_key, async |conn| {
            update.exec(conn).await.map(|_| ())
        })
        .await?;
    }
    Ok(())
}
