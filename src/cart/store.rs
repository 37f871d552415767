//! The cart's queries: a user's cart (created once, locked while it changes), its lines and
//! their products, and the clean-up of idle carts.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{cart_item, shopping_cart};
use crate::auth::user;
use crate::catalog::{product, variant};
use crate::db;

/// The user's cart, if there is one.
pub async fn cart_of<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
) -> Result<Option<shopping_cart::Model>, DbErr> {
    shopping_cart::Entity::find()
        .filter(shopping_cart::Column::UserId.eq(user_id))
        .one(conn)
        .await
}

/// The user's cart with its lines in the order they were added, in one query.
pub async fn cart_with_items(
    db: &DatabaseConnection,
    user_id: i64,
) -> Result<Option<(shopping_cart::Model, Vec<cart_item::Model>)>, DbErr> {
    let found = shopping_cart::Entity::find()
        .filter(shopping_cart::Column::UserId.eq(user_id))
        .find_with_related(cart_item::Entity)
        .all(db)
        .await?;
    Ok(found.into_iter().next().map(|(cart, mut items)| {
        items.sort_by_key(|item| (item.added_at, item.id));
        (cart, items)
    }))
}

/// The user's cart, row-locked until the transaction ends (`FOR UPDATE`; SQLite's write
/// transaction already admits one writer), so changes to one cart take turns.
pub async fn locked_cart<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
) -> Result<Option<shopping_cart::Model>, DbErr> {
    shopping_cart::Entity::find()
        .filter(shopping_cart::Column::UserId.eq(user_id))
        .lock_exclusive()
        .one(conn)
        .await
}

/// Creates the user's cart on its own (not inside a transaction: on MySQL two transactions
/// that both looked for the missing row and then insert it would deadlock). A parallel request
/// that created it first is fine: the unique `user_id` keeps one.
///
/// MariaDB can break a deadlock between two such inserts next to a just-deleted row of the same
/// user (an order emptied the cart): the statement is simply tried again.
pub async fn create_cart(
    db: &DatabaseConnection,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let row = shopping_cart::ActiveModel {
            user_id: Set(user_id),
            coupon_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        match shopping_cart::Entity::insert(row)
            .exec_without_returning(db)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if db::is_unique_violation(&e) => return Ok(()),
            Err(e) if db::is_contention(&e) && attempt < 3 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The line of `variant_id` in the cart.
pub async fn line<C: ConnectionTrait>(
    conn: &C,
    cart_id: i64,
    variant_id: i64,
) -> Result<Option<cart_item::Model>, DbErr> {
    cart_item::Entity::find()
        .filter(cart_item::Column::CartId.eq(cart_id))
        .filter(cart_item::Column::VariantId.eq(variant_id))
        .one(conn)
        .await
}

/// The cart's lines (a cart holds a bounded number).
pub async fn items<C: ConnectionTrait>(
    conn: &C,
    cart_id: i64,
) -> Result<Vec<cart_item::Model>, DbErr> {
    cart_item::Entity::find()
        .filter(cart_item::Column::CartId.eq(cart_id))
        .all(conn)
        .await
}

/// Adds a line.
pub async fn insert_line<C: ConnectionTrait>(
    conn: &C,
    cart_id: i64,
    (product_id, variant_id): (i64, i64),
    quantity: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    cart_item::ActiveModel {
        cart_id: Set(cart_id),
        product_id: Set(product_id),
        variant_id: Set(variant_id),
        quantity: Set(quantity),
        added_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Sets a line's quantity.
pub async fn set_quantity<C: ConnectionTrait>(
    conn: &C,
    line_id: i64,
    quantity: i64,
) -> Result<(), DbErr> {
    cart_item::Entity::update_many()
        .col_expr(cart_item::Column::Quantity, quantity.into())
        .filter(cart_item::Column::Id.eq(line_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes the line of `variant_id`; `false` when there was none.
pub async fn delete_line<C: ConnectionTrait>(
    conn: &C,
    cart_id: i64,
    variant_id: i64,
) -> Result<bool, DbErr> {
    Ok(cart_item::Entity::delete_many()
        .filter(cart_item::Column::CartId.eq(cart_id))
        .filter(cart_item::Column::VariantId.eq(variant_id))
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// Records a change of the cart: its time, and its coupon when `coupon` is given
/// (`Some(None)` takes the coupon off).
pub async fn touch<C: ConnectionTrait>(
    conn: &C,
    cart_id: i64,
    coupon: Option<Option<i64>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = shopping_cart::Entity::update_many()
        .col_expr(shopping_cart::Column::UpdatedAt, now.into())
        .filter(shopping_cart::Column::Id.eq(cart_id));
    if let Some(coupon) = coupon {
        update = update.col_expr(shopping_cart::Column::CouponId, coupon.into());
    }
    update.exec(conn).await?;
    Ok(())
}

/// Records the cart's shipping choice: a copy of the address (JSON) and the method.
pub async fn set_shipping<C: ConnectionTrait>(
    conn: &C,
    cart_id: i64,
    address: String,
    method_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    shopping_cart::Entity::update_many()
        .col_expr(shopping_cart::Column::UpdatedAt, now.into())
        .col_expr(shopping_cart::Column::ShippingAddress, Some(address).into())
        .col_expr(shopping_cart::Column::ShippingMethodId, method_id.into())
        .filter(shopping_cart::Column::Id.eq(cart_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// A line of a cart with its product and variant as the catalog has them now.
#[derive(Clone, Debug)]
pub struct CartLine {
    pub item: cart_item::Model,
    pub product: product::Model,
    pub variant: variant::Model,
}

/// The cart's lines in the order they were added, each with its product and variant as the
/// catalog has them now: one query whatever the number of lines.
pub async fn lines<C: ConnectionTrait>(conn: &C, cart_id: i64) -> Result<Vec<CartLine>, DbErr> {
    Ok(cart_item::Entity::find()
        .find_also_related(product::Entity)
        .find_also_related(variant::Entity)
        .filter(cart_item::Column::CartId.eq(cart_id))
        .order_by_asc(cart_item::Column::AddedAt)
        .order_by_asc(cart_item::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        // A product or variant deleted meanwhile took its lines with it (the foreign keys
        // cascade).
        .filter_map(|(item, product, variant)| {
            Some(CartLine {
                item,
                product: product?,
                variant: variant?,
            })
        })
        .collect())
}

/// Empties the cart: its lines deleted, its coupon and shipping choice cleared (an order took
/// them). The row stays, so the next add finds it locked in one statement.
pub async fn empty_cart<C: ConnectionTrait>(
    conn: &C,
    cart_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    cart_item::Entity::delete_many()
        .filter(cart_item::Column::CartId.eq(cart_id))
        .exec(conn)
        .await?;
    shopping_cart::Entity::update_many()
        .col_expr(shopping_cart::Column::CouponId, Option::<i64>::None.into())
        .col_expr(
            shopping_cart::Column::ShippingAddress,
            Option::<String>::None.into(),
        )
        .col_expr(
            shopping_cart::Column::ShippingMethodId,
            Option::<i64>::None.into(),
        )
        .col_expr(shopping_cart::Column::UpdatedAt, now.into())
        .filter(shopping_cart::Column::Id.eq(cart_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes carts nobody changed since `cutoff` and the carts of deactivated accounts, lines
/// included (the foreign key cascades, in the same statement). A cart changed meanwhile is
/// left alone: the condition is checked on the row as it is when it is deleted.
pub async fn purge(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    let deactivated = Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(user::Column::IsActive.eq(false))
        .to_owned();
    Ok(shopping_cart::Entity::delete_many()
        .filter(
            Condition::any()
                .add(shopping_cart::Column::UpdatedAt.lt(cutoff))
                .add(shopping_cart::Column::UserId.in_subquery(deactivated)),
        )
        .exec(db)
        .await?
        .rows_affected)
}
