//! The reviews' queries: pages with their authors' names. (Whether a user bought the product
//! is the orders' to say; the product's rating figures are the catalog's.)

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::review;
use crate::auth::user;
use crate::db;

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
