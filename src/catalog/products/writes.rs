//! Writing products: create, change and delete, each in one transaction that moves the
//! product's `version` on, keeps the search index and the stock movements in step, and tells
//! the cache what changed.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QuerySelect, Set,
};

use super::media::remove_files;
use super::shown::Showing;
use super::{LISTING_SCOPE, ProductRow, product_tag};
use crate::cache::{Change, ResponseCache};
use crate::catalog::categories::slugify;
use crate::catalog::inventory::IN_STOCK_SCOPE;
use crate::catalog::search::index;
use crate::catalog::store::{
    Slugged, check_category, free_slug, get_product, insert_slugged, slug_error,
};
use crate::catalog::variants::{self, views::VariantInput};
use crate::catalog::views::ProductInput;
use crate::catalog::{product, product_image};
use crate::db;
use crate::events::kind::EventType;
use crate::events::service::{self as events, NewEvent, Resource};
use crate::http::error::{ApiError, not_found};
use crate::money::Money;
use crate::storage::Storage;
use crate::text::Language;
use crate::time;

/// A product's event, with the product as staff see it.
fn product_event(
    event_type: EventType,
    row: &ProductRow,
    showing: Showing<'_>,
) -> Result<NewEvent, DbErr> {
    NewEvent::of(
        event_type,
        Resource::Product(row.product.id),
        &showing.view(row.clone(), true),
    )
}

/// Records `product.updated` for product `id` as it now stands in `tx` (a change of one of its
/// variants).
pub async fn record_updated(
    tx: &DatabaseTransaction,
    id: i64,
    showing: Showing<'_>,
) -> Result<(), ApiError> {
    let row = get_product(tx, id, true).await?;
    let event = product_event(EventType::ProductUpdated, &row, showing)?;
    events::record(tx, vec![event], time::now()).await?;
    Ok(())
}

/// Creates a product with a slug made from its name, and its variants: those given with its
/// `options`, else one from its `price` and `stock` (whose first stock is a movement;
/// `reference` names who created it).
pub async fn create_product(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    language: Language,
    input: ProductInput,
    reference: String,
    showing: Showing<'_>,
) -> Result<ProductRow, ApiError> {
    let Some((name, category_id)) = input.name.clone().zip(input.category) else {
        return Err(crate::http::error::bad_request(
            "name and category are required.",
        ));
    };
    let product_options = input.options.clone().unwrap_or_default();
    let single = if product_options.is_empty() {
        let Some(price) = input.price else {
            return Err(crate::http::error::field_error(
                "price",
                "This field is required.",
            ));
        };
        Some(VariantInput {
            price: Some(price),
            stock: Some(input.stock.unwrap_or(0)),
            ..VariantInput::default()
        })
    } else {
        None
    };
    let description = input.description.as_deref().unwrap_or("");
    index::add_words(db, &language.stemmer(), &name, description).await?;
    let tx = db::begin_write_committed(db).await?;
    check_category(&tx, category_id).await?;
    let slug = free_slug(&tx, Slugged::Product, &slugify(&name, 203)).await?;
    let now = time::now();
    let row = product::ActiveModel {
        name: Set(name),
        description: Set(input.description.unwrap_or_default()),
        price: Set(input.price.map_or(0, Money::minor)),
        stock: Set(0),
        is_active: Set(input.is_active.unwrap_or(true)),
        category_id: Set(category_id),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(0),
        options: Set(variants::options::to_column(&product_options)),
        active_variants: Set(0),
        tax_class: Set(input
            .tax_class
            .unwrap_or_else(|| crate::tax::classes::STANDARD.to_owned())),
        ..Default::default()
    };
    let row = insert_slugged(&tx, row, slug, true, "product").await?;
    variants::create_for_product(
        &tx,
        &row,
        input.variants.unwrap_or_default(),
        single,
        &reference,
    )
    .await?;
    let (after, _) = variants::settle(&tx, &row, true).await?;
    index::index_product(&tx, indexed(&after), true).await?;
    let created = get_product(&tx, row.id, true).await?;
    let event = product_event(EventType::ProductCreated, &created, showing)?;
    events::record(&tx, vec![event.about_new()], now).await?;
    let mut change = Change::new();
    change
        .scope(LISTING_SCOPE)
        .scope(IN_STOCK_SCOPE)
        .row(product_tag(row.id), created.product.version);
    cache.commit(tx, change).await?;
    Ok(created)
}

/// What the search index keeps of a product: shoppers see it when it is active and has an
/// active variant.
pub fn indexed(row: &product::Model) -> index::Indexed<'_> {
    index::Indexed {
        id: row.id,
        name: &row.name,
        description: &row.description,
        is_active: row.is_active && row.active_variants > 0,
        category_id: row.category_id,
    }
}

/// Changes the given fields of a product. `options` makes its variants follow (see
/// [`variants::change_options`]); `price` and `stock` change a single-variant product's variant
/// (`stock` an absolute set, recorded as a movement; `reference` names the staff member).
pub async fn update_product(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    language: Language,
    id: i64,
    input: ProductInput,
    reference: String,
    showing: Showing<'_>,
) -> Result<ProductRow, ApiError> {
    if input.name.is_some() || input.description.is_some() {
        let name = input.name.as_deref().unwrap_or("");
        let description = input.description.as_deref().unwrap_or("");
        index::add_words(db, &language.stemmer(), name, description).await?;
    }
    let tx = db::begin_write_committed(db).await?;
    // Locked first, as every write of a product or its variants does.
    let current = variants::lock_product(&tx, id).await?;
    if let Some(category_id) = input.category {
        check_category(&tx, category_id).await?;
    }
    if let Some(wanted) = &input.options {
        variants::change_options(&tx, &current, wanted).await?;
    }
    if input.price.is_some() || input.stock.is_some() {
        let single = VariantInput {
            price: input.price,
            stock: input.stock,
            ..VariantInput::default()
        };
        variants::set_single(&tx, &current, single, &reference).await?;
    }
    // What the search index keeps: the words, and the flag and category on every posting.
    let index_change = input.name.as_ref().is_some_and(|v| *v != current.name)
        || input
            .description
            .as_ref()
            .is_some_and(|v| *v != current.description)
        || input.is_active.is_some_and(|v| v != current.is_active)
        || input.category.is_some_and(|v| v != current.category_id);
    let mut row: product::ActiveModel = current.clone().into();
    db::set_given(&mut row.name, input.name);
    db::set_given(&mut row.description, input.description);
    db::set_given(&mut row.is_active, input.is_active);
    db::set_given(&mut row.category_id, input.category);
    db::set_given(&mut row.tax_class, input.tax_class);
    row.updated_at = Set(time::now());
    row.update(&tx)
        .await
        .map_err(|e| slug_error(e, "product"))?;
    // The figures of its variants, the version, and the visibility in the index.
    let (after, mut change) = variants::settle(&tx, &current, false).await?;
    if index_change {
        index::index_product(&tx, indexed(&after), false).await?;
    }
    if (current.stock > 0) != (after.stock > 0) {
        change.scope(IN_STOCK_SCOPE);
    }
    let updated = get_product(&tx, id, true).await?;
    let event = product_event(EventType::ProductUpdated, &updated, showing)?;
    events::record(&tx, vec![event], time::now()).await?;
    cache.commit(tx, change).await?;
    Ok(updated)
}

/// Deletes a product and, once that is committed, its image files.
pub async fn delete_product(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    storage: &Storage,
    id: i64,
    showing: Showing<'_>,
) -> Result<(), ApiError> {
    let tx = db::begin_write_committed(db).await?;
    // Locked first, as every other write of a product does, then its postings and itself.
    product::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(not_found)?;
    let keys: Vec<String> = product_image::Entity::find()
        .filter(product_image::Column::ProductId.eq(id))
        .all(&tx)
        .await?
        .into_iter()
        .flat_map(|image| image.keys())
        .collect();
    // The product as it was, for its event.
    let before = get_product(&tx, id, true).await?;
    let event = product_event(EventType::ProductDeleted, &before, showing)?;
    events::record(&tx, vec![event], time::now()).await?;
    index::remove_product(&tx, id).await?;
    let deleted = product::Entity::delete_by_id(id).exec(&tx).await?;
    if deleted.rows_affected == 0 {
        return Err(not_found());
    }
    let mut change = Change::new();
    change.scope(LISTING_SCOPE).row(product_tag(id), -1);
    cache.commit(tx, change).await?;
    remove_files(storage, &keys).await;
    Ok(())
}
