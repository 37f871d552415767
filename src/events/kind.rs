//! The types of events, as API.md lists them (and `ping`, which only a webhook test sends).

use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

/// What happened.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EventType {
    #[sea_orm(string_value = "order.created")]
    #[serde(rename = "order.created")]
    OrderCreated,
    #[sea_orm(string_value = "order.paid")]
    #[serde(rename = "order.paid")]
    OrderPaid,
    #[sea_orm(string_value = "order.cancelled")]
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[sea_orm(string_value = "order.shipped")]
    #[serde(rename = "order.shipped")]
    OrderShipped,
    #[sea_orm(string_value = "order.delivered")]
    #[serde(rename = "order.delivered")]
    OrderDelivered,
    #[sea_orm(string_value = "payment.failed")]
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    #[sea_orm(string_value = "payment.refunded")]
    #[serde(rename = "payment.refunded")]
    PaymentRefunded,
    #[sea_orm(string_value = "product.created")]
    #[serde(rename = "product.created")]
    ProductCreated,
    #[sea_orm(string_value = "product.updated")]
    #[serde(rename = "product.updated")]
    ProductUpdated,
    #[sea_orm(string_value = "product.deleted")]
    #[serde(rename = "product.deleted")]
    ProductDeleted,
    #[sea_orm(string_value = "stock.low")]
    #[serde(rename = "stock.low")]
    StockLow,
    #[sea_orm(string_value = "stock.out")]
    #[serde(rename = "stock.out")]
    StockOut,
    #[sea_orm(string_value = "review.created")]
    #[serde(rename = "review.created")]
    ReviewCreated,
    #[sea_orm(string_value = "customer.created")]
    #[serde(rename = "customer.created")]
    CustomerCreated,
    #[sea_orm(string_value = "ping")]
    #[serde(rename = "ping")]
    Ping,
}

impl EventType {
    /// Every type a webhook may subscribe to (all but `ping`).
    pub const SUBSCRIBABLE: [EventType; 14] = [
        EventType::OrderCreated,
        EventType::OrderPaid,
        EventType::OrderCancelled,
        EventType::OrderShipped,
        EventType::OrderDelivered,
        EventType::PaymentFailed,
        EventType::PaymentRefunded,
        EventType::ProductCreated,
        EventType::ProductUpdated,
        EventType::ProductDeleted,
        EventType::StockLow,
        EventType::StockOut,
        EventType::ReviewCreated,
        EventType::CustomerCreated,
    ];

    /// The name stored, sent and subscribed to (`order.paid`).
    pub fn as_str(self) -> String {
        self.to_value()
    }

    /// The type called `name`.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::try_from_value(&name.to_owned()).ok()
    }
}
