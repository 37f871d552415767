//! The `tax_rates` table: the rate of a tax class in a country, or in one of its regions (a
//! region's rate replaces the country's of the same class). `rate` is in millionths of the
//! amount (20.00 % is 200,000), so a rate like 8.875 % is exact; `(country, region_key,
//! tax_class)` is unique.

use sea_orm::entity::prelude::*;

/// A tax rate.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tax_rates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// As staff wrote it (`""`: the whole country).
    pub region: String,
    /// The region lower-cased and trimmed, matched against an address's `state`.
    pub region_key: String,
    pub tax_class: String,
    /// Millionths of the amount.
    pub rate: i64,
    /// As tax lines show it: `VAT`, `Sales tax`.
    pub name: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
