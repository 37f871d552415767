//! The `payment_refunds` table: money given back on a payment — a refund the provider reported
//! (partial or in full, with its amount), or an extra capture of an already paid order refunded
//! at once (naming that capture).

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A refund.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub payment_id: String,
    /// The event that told of it (as recorded in `payment_events`).
    pub provider_event_id: String,
    /// The capture given back when it is not the payment's own (an extra capture); null for a
    /// refund of the payment itself.
    pub captured_ref: Option<String>,
    pub kind: RefundKind,
    /// Minor units.
    pub amount: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a refund gave back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundKind {
    /// Part of the payment, made at the provider: no status changes.
    #[sea_orm(string_value = "PARTIAL")]
    Partial,
    /// The rest of the payment: it is refunded.
    #[sea_orm(string_value = "FULL")]
    Full,
    /// A second capture of an order already paid, refunded in full by us.
    #[sea_orm(string_value = "EXTRA_CAPTURE")]
    ExtraCapture,
}
