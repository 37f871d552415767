//! The `coupons` table. `value` is basis points (hundredths of a percent) for a `percent`
//! coupon and minor units of the shop's currency for a `fixed` one; `code_key` is the
//! lower-cased code, unique; `uses` counts the orders placed with it.

use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

/// A coupon.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "coupons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub code: String,
    #[sea_orm(unique)]
    pub code_key: String,
    pub kind: Kind,
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

/// How a coupon discounts: a percentage of the subtotal, or a fixed amount.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
#[schema(as = CouponKind)]
pub enum Kind {
    /// A percentage of the subtotal; the value is in basis points (1250 is 12.50 %).
    #[sea_orm(string_value = "percent")]
    Percent,
    /// A fixed amount in minor units.
    #[sea_orm(string_value = "fixed")]
    Fixed,
}
