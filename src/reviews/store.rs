//! The reviews' queries: pages with their authors' names, the verified-buyer check, and the
//! product's count and sum of ratings moved with every review write.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait,
};

use super::review;
use crate::auth::user;
use crate::catalog::product;
use crate::db;
use crate::orders::status::OrderStatus;
use crate::orders::{order, order_item};

/// A page of a product's reviews, newest first.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    product_id: i64,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<review::Model>), DbErr> {
    db::page(
        conn,
        review::Entity::find().filter(review::Column::ProductId.eq(product_id)),
        |q| {
            q.order_by_desc(review::Column::CreatedAt)
                .order_by_desc(review::Column::Id)
        },
        offset,
        limit,
    )
    .await
}

/// How each author is shown: first name and the initial of the last ("Ada L."), else
/// "Customer" — never an email address.
pub async fn authors<C: ConnectionTrait>(
    conn: &C,
    user_ids: &[i64],
) -> Result<HashMap<i64, String>, DbErr> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::FirstName)
        .column(user::Column::LastName)
        .filter(user::Column::Id.is_in(user_ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, first, last)| (id, display_name(&first, &last)))
        .collect())
}

fn display_name(first: &str, last: &str) -> String {
    let first = first.trim();
    let initial = last.trim().chars().next();
    match (first.is_empty(), initial) {
        (true, _) => "Customer".to_owned(),
        (false, Some(initial)) => format!("{first} {initial}."),
        (false, None) => first.to_owned(),
    }
}

/// True when `user_id` has an order with the product that is paid, shipped or delivered.
pub async fn has_bought<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    product_id: i64,
) -> Result<bool, DbErr> {
    let bought = OrderStatus::ALL.into_iter().filter(|s| s.is_paid());
    Ok(order_item::Entity::find()
        .join(JoinType::InnerJoin, order_item::Relation::Order.def())
        .filter(order_item::Column::ProductId.eq(product_id))
        .filter(order::Column::UserId.eq(user_id))
        .filter(order::Column::Status.is_in(bought))
        .count(conn)
        .await?
        > 0)
}

/// Moves the product's count of reviews by `count` and the sum of ratings by `total`, and its
/// version (cached responses show the rating); returns the new version.
pub async fn rate<C: ConnectionTrait>(
    conn: &C,
    product_id: i64,
    count: i64,
    total: i64,
) -> Result<i64, DbErr> {
    product::Entity::update_many()
        .col_expr(
            product::Column::ReviewCount,
            Expr::col(product::Column::ReviewCount).add(count),
        )
        .col_expr(
            product::Column::RatingTotal,
            Expr::col(product::Column::RatingTotal).add(total),
        )
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .filter(product::Column::Id.eq(product_id))
        .exec(conn)
        .await?;
    product::Entity::find_by_id(product_id)
        .select_only()
        .column(product::Column::Version)
        .into_tuple::<i64>()
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("product {product_id}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn authors_are_shown_by_first_name_and_initial_never_by_email() {
        assert_eq!(super::display_name("Ada", "Lovelace"), "Ada L.");
        assert_eq!(super::display_name("Ada", ""), "Ada");
        assert_eq!(super::display_name(" ", "Lovelace"), "Customer");
        assert_eq!(super::display_name("Émile", "Ørsted"), "Émile Ø.");
    }
}
