//! The `coupon_uses` table: how many orders each user has placed with each coupon (unique per
//! coupon and user), so the per-user limit is a conditional update like the global one.

use sea_orm::entity::prelude::*;

/// One user's uses of one coupon.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coupon_uses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub coupon_id: i64,
    pub user_id: i64,
    pub uses: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
