//! The `orders` table. Ids are UUIDs (not enumerable); money is in minor units; the shipping
//! address is a JSON copy, so editing the address book later changes no order; shipping and
//! tax are kept as they were placed, so later changes to zones, methods or rates change none.

use sea_orm::entity::prelude::*;

pub use super::status::{OrderStatus, PaymentStatus};

/// An order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: i64,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub subtotal: i64,
    pub discount: i64,
    pub total_amount: i64,
    pub currency: String,
    /// The coupon's code as it was.
    pub coupon: Option<String>,
    /// The coupon whose use this order holds (given back on cancellation).
    pub coupon_id: Option<i64>,
    pub shipping_address: String,
    /// What shipping cost and the tax, as placed (tax contained when `prices_include_tax`).
    pub shipping_amount: i64,
    pub tax_amount: i64,
    /// The tax lines as placed: JSON `[{"name", "rate" (millionths), "amount"}]`; `None` for
    /// orders placed before tax was charged.
    pub tax_lines: Option<String>,
    pub prices_include_tax: bool,
    /// The shipping method's name as placed (`None`: the shop shipped free without a method).
    pub shipping_method_name: Option<String>,
    /// Who carries it and its tracking number, as staff gave them when they shipped it.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub shipped_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
