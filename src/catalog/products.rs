//! Product rules: the list's filters and ordering, writes and images. Every write moves the
//! product's `version` on in the same transaction and tells the cache what it changed (see
//! `crate::cache`): the product's row always; the `LISTING_SCOPE` when what lists show or
//! their order may change.

use bytes::Bytes;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use super::inventory::{self, Applied, Cause, IN_STOCK_SCOPE};
use super::search::index;
use super::views::ProductInput;
use super::{category, images, product, product_image};
use crate::cache::{Change, ResponseCache};
use crate::db;
use crate::http::error::{ApiError, field_error, not_found};
use crate::http::pagination::query_param;
use crate::money::{Currency, Money};
use crate::storage::Storage;
use crate::text::{self, Language};
use crate::time;

use super::categories::slugify;
use super::store::{Slugged, free_slug, insert_slugged, slug_error};
use super::store::{check_category, touch};
pub use super::store::{get_product, list_products, product_facets};

/// The scope of every product list: which products they show and in what order (a product
/// created, deleted, renamed, re-priced, moved, switched on or off).
pub const LISTING_SCOPE: &str = "catalog:listing";

/// The cache's name for one product's row.
pub fn product_tag(id: i64) -> String {
    format!("product:{id}")
}

/// The orderings a client may ask for.
pub const ORDERINGS: [&str; 6] = [
    "price",
    "-price",
    "name",
    "-name",
    "created_at",
    "-created_at",
];

/// The product list's filters, parsed from the query string.
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    pub category: Option<i64>,
    pub search: Vec<String>,
    pub min_price: Option<Money>,
    pub max_price: Option<Money>,
    pub in_stock: Option<bool>,
    pub ordering: Option<&'static str>,
}

impl ProductFilter {
    /// The filters as query parameters in a fixed order and normal form (unknown parameters
    /// dropped): what a cache key and the page links are made of.
    pub fn normal_query(&self, currency: Currency) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut push = |name: &str, value: String| pairs.push((name.to_owned(), value));
        if let Some(category) = self.category {
            push("category", category.to_string());
        }
        if !self.search.is_empty() {
            push("search", self.search.join(" "));
        }
        if let Some(min) = self.min_price {
            push("min_price", min.format(currency));
        }
        if let Some(max) = self.max_price {
            push("max_price", max.format(currency));
        }
        if let Some(in_stock) = self.in_stock {
            push("in_stock", in_stock.to_string());
        }
        if let Some(ordering) = self.ordering {
            push("ordering", ordering.to_owned());
        }
        pairs
    }
}

/// Reads the filters; a malformed one is a 400 on its own parameter.
pub fn parse_filter(
    query: &[(String, String)],
    currency: Currency,
) -> Result<ProductFilter, ApiError> {
    let param = |name: &str| query_param(query, name).filter(|v| !v.is_empty());
    let mut errors = crate::http::error::FieldErrors::new();
    let mut filter = ProductFilter::default();
    if let Some(text) = param("category") {
        match text.parse::<i64>() {
            Ok(id) => filter.category = Some(id),
            Err(_) => errors.add(
                "category",
                "Select a valid choice. That choice is not one of the available choices.",
            ),
        }
    }
    if let Some(text) = param("search") {
        if let Some(problem) = crate::http::extract::text_problem(text, usize::MAX) {
            errors.add("search", problem);
        }
        for word in text::words(text) {
            if filter.search.len() == 10 {
                break;
            }
            if !filter.search.contains(&word) {
                filter.search.push(word);
            }
        }
        if filter.search.is_empty() && !text.trim().is_empty() {
            // Only punctuation: kept as one word, which no product has (nothing is found, as a
            // search for "%" should find nothing, rather than everything).
            filter.search = vec![text.trim().chars().take(40).collect()];
        }
    }
    for (name, slot) in [
        ("min_price", &mut filter.min_price),
        ("max_price", &mut filter.max_price),
    ] {
        if let Some(text) = param(name) {
            match Money::parse(text, currency) {
                Ok(money) => *slot = Some(money),
                Err(_) => errors.add(name, "Enter a number."),
            }
        }
    }
    if let Some(text) = param("in_stock") {
        match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => filter.in_stock = Some(true),
            "false" | "0" | "no" => filter.in_stock = Some(false),
            _ => errors.add("in_stock", "Select a valid choice. Use true or false."),
        }
    }
    if let Some(text) = param("ordering") {
        match ORDERINGS.iter().find(|o| **o == text) {
            Some(ordering) => filter.ordering = Some(ordering),
            None => errors.add(
                "ordering",
                format!("Select a valid choice. {text} is not one of the available choices."),
            ),
        }
    }
    errors.into_result()?;
    Ok(filter)
}

/// The mean of a product's ratings with two decimals, rounded half-up (`"4.50"`), or `None`
/// before its first review.
pub fn average_rating(product: &product::Model) -> Option<String> {
    if product.review_count <= 0 {
        return None;
    }
    let (total, count) = (
        i128::from(product.rating_total),
        i128::from(product.review_count),
    );
    let hundredths = (total * 200 + count) / (2 * count);
    Some(format!("{}.{:02}", hundredths / 100, hundredths % 100))
}

/// A product with its category and images, ready for a view.
pub struct ProductRow {
    pub product: product::Model,
    pub category: category::Model,
    pub images: Vec<product_image::Model>,
}

/// Creates a product with a slug made from its name; its first stock is a movement
/// (`reference` names who created it).
pub async fn create_product(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    language: Language,
    input: ProductInput,
    reference: String,
) -> Result<ProductRow, ApiError> {
    let (Some(name), Some(price), Some(category_id)) = (input.name, input.price, input.category)
    else {
        return Err(crate::http::error::bad_request(
            "name, price and category are required.",
        ));
    };
    let description = input.description.as_deref().unwrap_or("");
    index::add_words(db, &language.stemmer(), &name, description).await?;
    let tx = db::begin_write(db).await?;
    check_category(&tx, category_id).await?;
    let slug = free_slug(&tx, Slugged::Product, &slugify(&name, 203)).await?;
    let now = time::now();
    let row = product::ActiveModel {
        name: Set(name),
        description: Set(input.description.unwrap_or_default()),
        price: Set(price.minor()),
        stock: Set(input.stock.unwrap_or(0)),
        is_active: Set(input.is_active.unwrap_or(true)),
        category_id: Set(category_id),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(0),
        ..Default::default()
    };
    let row = insert_slugged(&tx, row, slug, true, "product").await?;
    index::index_product(&tx, indexed(&row), true).await?;
    if row.stock > 0 {
        // The first movement, so that a product's movements always add up to its stock.
        let applied = Applied {
            product_id: row.id,
            stock_after: row.stock,
            version: row.version,
            price: row.price,
            is_active: row.is_active,
        };
        let cause = Cause {
            reason: "product created".to_owned(),
            reference,
            idempotency_key: None,
        };
        inventory::record_edit(&tx, applied, 0, &cause).await?;
    }
    let created = get_product(&tx, row.id, true).await?;
    let mut change = Change::new();
    change
        .scope(LISTING_SCOPE)
        .row(product_tag(row.id), created.product.version);
    cache.commit(tx, change).await?;
    Ok(created)
}

/// What the search index keeps of a product.
fn indexed(row: &product::Model) -> index::Indexed<'_> {
    index::Indexed {
        id: row.id,
        name: &row.name,
        description: &row.description,
        is_active: row.is_active,
        category_id: row.category_id,
    }
}

/// Changes the given fields of a product. A new `stock` is an absolute set, recorded as a
/// movement (`reference` names the staff member).
pub async fn update_product(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    language: Language,
    id: i64,
    input: ProductInput,
    reference: String,
) -> Result<ProductRow, ApiError> {
    if input.name.is_some() || input.description.is_some() {
        let name = input.name.as_deref().unwrap_or("");
        let description = input.description.as_deref().unwrap_or("");
        index::add_words(db, &language.stemmer(), name, description).await?;
    }
    let tx = db::begin_write(db).await?;
    // Locked, so that the version and the stock movement are computed from what is replaced.
    let current = product::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(not_found)?;
    if let Some(category_id) = input.category {
        check_category(&tx, category_id).await?;
    }
    let lists_change = input.name.as_ref().is_some_and(|v| *v != current.name)
        || input
            .description
            .as_ref()
            .is_some_and(|v| *v != current.description)
        || input.price.is_some_and(|v| v.minor() != current.price)
        || input.is_active.is_some_and(|v| v != current.is_active)
        || input.category.is_some_and(|v| v != current.category_id);
    // What the search index keeps: the words, and the flag and category on every posting.
    let index_change = input.name.as_ref().is_some_and(|v| *v != current.name)
        || input
            .description
            .as_ref()
            .is_some_and(|v| *v != current.description)
        || input.is_active.is_some_and(|v| v != current.is_active)
        || input.category.is_some_and(|v| v != current.category_id);
    let stock_before = current.stock;
    let version = current.version + 1;
    let mut row: product::ActiveModel = current.into();
    db::set_given(&mut row.name, input.name);
    db::set_given(&mut row.description, input.description);
    db::set_given(&mut row.price, input.price.map(Money::minor));
    db::set_given(&mut row.stock, input.stock);
    db::set_given(&mut row.is_active, input.is_active);
    db::set_given(&mut row.category_id, input.category);
    row.updated_at = Set(time::now());
    row.version = Set(version);
    let row = row
        .update(&tx)
        .await
        .map_err(|e| slug_error(e, "product"))?;
    if index_change {
        index::index_product(&tx, indexed(&row), false).await?;
    }
    let mut change = Change::new();
    change.row(product_tag(id), version);
    if lists_change {
        change.scope(LISTING_SCOPE);
    }
    if row.stock != stock_before {
        let applied = Applied {
            product_id: id,
            stock_after: row.stock,
            version,
            price: row.price,
            is_active: row.is_active,
        };
        let cause = Cause {
            reason: "product edit".to_owned(),
            reference,
            idempotency_key: None,
        };
        inventory::record_edit(&tx, applied, stock_before, &cause).await?;
        if (stock_before > 0) != (row.stock > 0) {
            change.scope(IN_STOCK_SCOPE);
        }
    }
    let updated = get_product(&tx, id, true).await?;
    cache.commit(tx, change).await?;
    Ok(updated)
}

/// Deletes a product and, once that is committed, its image files.
pub async fn delete_product(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    storage: &Storage,
    id: i64,
) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
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
        .map(|image| image.storage_key)
        .collect();
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

async fn remove_files(storage: &Storage, keys: &[String]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_filter_is_an_error_on_its_parameter() {
        let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let Err(ApiError::Validation(errors)) = parse_filter(
            &query(&[
                ("min_price", "cheap"),
                ("ordering", "stock"),
                ("in_stock", "maybe"),
                ("category", "x"),
            ]),
            Currency::USD,
        ) else {
            panic!("expected field errors")
        };
        for field in ["min_price", "ordering", "in_stock", "category"] {
            assert!(errors.has(field), "{field}");
        }
        let ok = parse_filter(
            &query(&[("search", "Red  shoe"), ("max_price", "20.5")]),
            Currency::USD,
        )
        .expect("valid");
        assert_eq!(ok.search, ["red", "shoe"]);
        assert_eq!(ok.max_price, Some(Money::from_minor(2050)));
    }

    #[test]
    fn the_average_rating_has_two_decimals_rounded_half_up() {
        let now = crate::time::now();
        let rated = |count, total| product::Model {
            id: 1,
            name: String::new(),
            slug: String::new(),
            description: String::new(),
            price: 0,
            stock: 0,
            is_active: true,
            category_id: 1,
            created_at: now,
            updated_at: now,
            version: 0,
            review_count: count,
            rating_total: total,
        };
        assert_eq!(average_rating(&rated(0, 0)), None);
        assert_eq!(average_rating(&rated(2, 9)).as_deref(), Some("4.50"));
        assert_eq!(average_rating(&rated(3, 13)).as_deref(), Some("4.33"));
        assert_eq!(average_rating(&rated(3, 14)).as_deref(), Some("4.67"));
        assert_eq!(
            average_rating(&rated(8, 37)).as_deref(),
            Some("4.63"),
            "4.625 rounds up"
        );
        assert_eq!(average_rating(&rated(1, 5)).as_deref(), Some("5.00"));
    }
}
