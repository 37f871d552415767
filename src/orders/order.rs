//! The `orders` table. Ids are UUIDs (not enumerable); money is in minor units; the shipping
//! address is a JSON copy, so editing the address book later changes no order.

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
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
