//! The `coupons` table. `value` is basis points (hundredths of a percent) for a `percent`
//! coupon and minor units of the shop's currency for a `fixed` one; `code_key` is the
//! lower-cased code, unique; `uses` counts the orders placed with it.

use sea_orm::entity::prelude::*;

/// A coupon.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coupons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub code: String,
    #[sea_orm(unique)]
    pub code_key: String,
    pub kind: String,
    pub value: i64,
    pub min_order_amount: i64,
    pub valid_from: Option<DateTimeUtc>,
    pub valid_until: Option<DateTimeUtc>,
    pub max_uses: Option<i64>,
    pub max_uses_per_user: Option<i64>,
    pub uses: i64,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
