//! The `stock_movements` table: one row per change of a variant's stock.

use sea_orm::entity::prelude::*;

/// A change of stock: by how much, what it left, why, and what caused it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i64,
    pub variant_id: i64,
    pub delta: i64,
    pub stock_after: i64,
    /// `order`, `cancellation`, `expiry`, `product edit`, or the text staff gave.
    pub reason: String,
    /// What caused it: `order:42`, `user:7`.
    pub reference: String,
    /// The `Idempotency-Key` of a staff adjustment, so a retry is applied once.
    pub idempotency_key: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
