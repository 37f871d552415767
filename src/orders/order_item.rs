//! The `order_items` table: a product's name and price as they were when the order was placed.

use sea_orm::entity::prelude::*;

/// A line of an order.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: String,
    /// Null once the product is deleted.
    pub product_id: Option<i64>,
    pub product_name: String,
    /// Null once the variant is deleted (with its product).
    pub variant_id: Option<i64>,
    /// The variant's SKU and options (a JSON object) when the order was placed.
    pub sku: Option<String>,
    pub variant_options: Option<String>,
    pub price_snapshot: i64,
    pub quantity: i64,
    pub subtotal: i64,
    /// The line's tax rate (millionths; 0: untaxed) and tax, as placed.
    pub tax_rate: i64,
    pub tax_amount: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::order::Entity",
        from = "Column::OrderId",
        to = "super::order::Column::Id"
    )]
    Order,
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
