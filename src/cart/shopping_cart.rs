//! The `carts` table: one per user (unique `user_id`), with the coupon the user applied.

use sea_orm::entity::prelude::*;

/// A user's cart.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "carts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub user_id: i64,
    pub coupon_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// Moves on with every change; the clean-up job removes carts idle for the retention.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
