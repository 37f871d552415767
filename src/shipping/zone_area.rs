//! The `shipping_zone_areas` table: one row per country a zone covers whole (`region_key`
//! empty) and per region it is narrowed to. `(country, region_key)` is unique: a country is in
//! at most one whole-country zone and a region in at most one zone, the database decides.

use sea_orm::entity::prelude::*;

/// A place a zone covers.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "shipping_zone_areas")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub zone_id: i64,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// As staff wrote it (`""`: the whole country).
    pub region: String,
    /// The region lower-cased and trimmed, matched against an address's `state`.
    pub region_key: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
