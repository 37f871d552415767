//! The `carts` table: one per user (unique `user_id`), with the coupon the user applied and
//! the shipping address and method they chose.

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
    /// The chosen destination: a copy of the address (JSON), so the address book can change.
    pub shipping_address: Option<String>,
    /// The chosen shipping method (checked again on every read).
    pub shipping_method_id: Option<i64>,
    pub created_at: DateTimeUtc,
    /// Moves on with every change; the clean-up job removes carts idle for the retention.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::cart_item::Entity")]
    Items,
}

impl Related<super::cart_item::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Items.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
