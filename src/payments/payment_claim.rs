//! The `payment_claims` table: the one request asking the provider for an order's intent now —
//! unique per order, so of parallel requests the database lets one ask.

use sea_orm::entity::prelude::*;

/// A claim on an order's intent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub order_id: String,
    /// Which request holds it (a UUID of its own), so only that request releases it and a
    /// takeover is one conditional update.
    pub token: String,
    pub claimed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
