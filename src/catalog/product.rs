//! The `products` table. `price` is in minor units of the shop's currency. `price`, `stock`
//! and `active_variants` are figures of the product's active variants (the lowest price, the
//! sum of stock, the count), kept with every variant write.

use sea_orm::entity::prelude::*;

/// A product.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub description: String,
    pub price: i64,
    pub stock: i64,
    pub is_active: bool,
    pub category_id: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Moves on with every write of the product (cached responses are checked against it).
    pub version: i64,
    /// Reviews of the product (kept with every review write).
    pub review_count: i64,
    /// The sum of their ratings.
    pub rating_total: i64,
    /// The options, a JSON list of `{"name", "values"}`; `None`: no options.
    pub options: Option<String>,
    /// How many of its variants are active (none: shoppers do not see the product).
    pub active_variants: i64,
    /// The tax class of its variants that name none (`standard` by default).
    pub tax_class: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::category::Entity",
        from = "Column::CategoryId",
        to = "super::category::Column::Id"
    )]
    Category,
    #[sea_orm(has_many = "super::variant::Entity")]
    Variants,
}

impl Related<super::category::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Category.def()
    }
}

impl Related<super::variant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Variants.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
