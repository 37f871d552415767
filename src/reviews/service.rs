//! Review rules: only a buyer of the product (an order with it that is paid, shipped or
//! delivered) reviews it, once — the unique index decides, so two parallel posts make one
//! review and one 409; authors edit and delete their own, staff delete any. Every write moves
//! the product's count and sum of ratings and its version in the same transaction, so the
//! product's `average_rating` is always its reviews' and no cached product shows an old one.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QuerySelect, Set,
};

use super::views::ReviewInput;
use super::views::ReviewView;
use super::{review, store};
use crate::cache::{Change, ResponseCache};
use crate::catalog::lookups;
use crate::catalog::products::{get_product, product_tag};
use crate::events::kind::EventType;
use crate::events::service::{self as events, NewEvent, Resource};
use crate::http::error::{ApiError, conflict, forbidden, not_found};
use crate::orders::purchases;
use crate::{db, time};

/// A review with its author's name as shown.
pub type Authored = (review::Model, String);

async fn with_author<C: ConnectionTrait>(db: &C, row: review::Model) -> Result<Authored, ApiError> {
    let author = store::authors(db, &[row.user_id])
        .await?
        .remove(&row.user_id)
        .unwrap_or_else(|| "Customer".to_owned());
    Ok((row, author))
}

/// A page of a product's reviews, newest first; `404` for a product the reader cannot see.
pub async fn list_reviews(
    db: &DatabaseConnection,
    product_id: i64,
    is_staff: bool,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<Authored>), ApiError> {
    get_product(db, product_id, is_staff).await?;
    let (count, rows) = store::page(db, product_id, offset, limit).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    let names = store::authors(db, &ids).await?;
    let reviews = rows
        .into_iter()
        .map(|row| {
            let name = names
                .get(&row.user_id)
                .cloned()
                .unwrap_or_else(|| "Customer".to_owned());
            (row, name)
        })
        .collect();
    Ok((count, reviews))
}

/// Moves the product's rating by `count` reviews and `total` stars, then commits with the
/// product's new version told to the cache.
async fn rate_and_commit(
    tx: DatabaseTransaction,
    cache: &ResponseCache,
    product_id: i64,
    count: i64,
    total: i64,
) -> Result<(), ApiError> {
    let version = lookups::rate(&tx, product_id, count, total).await?;
    let mut change = Change::new();
    change.row(product_tag(product_id), version);
    cache.commit(tx, change).await?;
    Ok(())
}

/// A buyer's review of an active product.
pub async fn create_review(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    user_id: i64,
    product_id: i64,
    input: ReviewInput,
) -> Result<Authored, ApiError> {
    let tx = db::begin_write(db).await?;
    get_product(&tx, product_id, false).await?;
    if !purchases::has_bought(&tx, user_id, product_id).await? {
        return Err(forbidden(
            "Only customers who bought this product may review it.",
        ));
    }
    let rating = input.rating.unwrap_or(5);
    // The product's row first: it orders parallel reviews of one product. Inserting first
    // would deadlock them on MySQL, whose foreign-key check share-locks the product row that
    // the first insert's transaction then wants to update.
    let version = lookups::rate(&tx, product_id, 1, i64::from(rating)).await?;
    let now = time::now();
    let inserted = review::ActiveModel {
        product_id: Set(product_id),
        user_id: Set(user_id),
        rating: Set(rating),
        title: Set(input.title.unwrap_or_default()),
        body: Set(input.body.unwrap_or_default()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) if db::is_unique_violation(&e) => {
            return Err(conflict("You have already reviewed this product."));
        }
        Err(e) => return Err(e.into()),
    };
    let (row, author) = with_author(&tx, row).await?;
    let view = ReviewView::new(row.clone(), author.clone());
    let event = NewEvent::of(EventType::ReviewCreated, Resource::Review(row.id), &view)?;
    events::record(&tx, vec![event.about_new()], now).await?;
    let mut change = Change::new();
    change.row(product_tag(product_id), version);
    cache.commit(tx, change).await?;
    Ok((row, author))
}

/// The review, locked for the rest of the transaction; `404` when there is none.
async fn locked(tx: &DatabaseTransaction, id: i64) -> Result<review::Model, ApiError> {
    review::Entity::find_by_id(id)
        .lock_exclusive()
        .one(tx)
        .await?
        .ok_or_else(not_found)
}

/// The author changes their review.
pub async fn update_review(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    user_id: i64,
    id: i64,
    input: ReviewInput,
) -> Result<Authored, ApiError> {
    let tx = db::begin_write(db).await?;
    let current = locked(&tx, id).await?;
    if current.user_id != user_id {
        return Err(forbidden("You may only change your own review."));
    }
    let (product_id, old_rating) = (current.product_id, current.rating);
    let mut row: review::ActiveModel = current.into();
    db::set_given(&mut row.rating, input.rating);
    db::set_given(&mut row.title, input.title);
    db::set_given(&mut row.body, input.body);
    row.updated_at = Set(time::now());
    let row = row.update(&tx).await?;
    let moved = i64::from(row.rating) - i64::from(old_rating);
    rate_and_commit(tx, cache, product_id, 0, moved).await?;
    with_author(db, row).await
}

/// A page of reviews for staff (the dashboard), newest first: every product's, or one
/// author's (`user_id`).
pub async fn staff_page(
    db: &DatabaseConnection,
    user_id: Option<i64>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<review::Model>), sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let mut query = review::Entity::find();
    if let Some(user_id) = user_id {
        query = query.filter(review::Column::UserId.eq(user_id));
    }
    db::page(
        db,
        query,
        |q| {
            q.order_by_desc(review::Column::CreatedAt)
                .order_by_desc(review::Column::Id)
        },
        offset,
        limit,
    )
    .await
}

/// The author deletes their review, or staff delete any (moderation).
pub async fn delete_review(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    user_id: i64,
    is_staff: bool,
    id: i64,
) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
    let current = locked(&tx, id).await?;
    if current.user_id != user_id && !is_staff {
        return Err(forbidden("You may only delete your own review."));
    }
    review::Entity::delete_by_id(id).exec(&tx).await?;
    rate_and_commit(
        tx,
        cache,
        current.product_id,
        -1,
        -i64::from(current.rating),
    )
    .await
}
