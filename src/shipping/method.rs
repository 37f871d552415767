//! The `shipping_methods` table: how a zone's orders are sent and what that costs. Money is in
//! minor units; a `weight` method's bands are JSON `[[up_to_grams, price], …]`, lightest first.

use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

/// A shipping method of a zone.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "shipping_methods")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub zone_id: i64,
    pub name: String,
    pub kind: MethodKind,
    /// A `flat` method's price.
    pub price: Option<i64>,
    /// A `weight` method's bands.
    pub rates: Option<String>,
    /// A subtotal after discount at or above which it is free.
    pub free_over: Option<i64>,
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
    pub is_active: bool,
    pub tax_class: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How a method is priced.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    serde::Deserialize,
    ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    /// One price whatever the cart.
    #[sea_orm(string_value = "flat")]
    Flat,
    /// A price per band of the cart's weight.
    #[sea_orm(string_value = "weight")]
    Weight,
}
