//! What other apps may ask about a customer's orders.

use sea_orm::{ConnectionTrait, DbErr};

use super::store;

/// True when `user_id` has a paid, shipped or delivered order with the product (reviews are
/// for buyers).
pub async fn has_bought<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    product_id: i64,
) -> Result<bool, DbErr> {
    store::has_bought(conn, user_id, product_id).await
}
