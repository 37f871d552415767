//! The `cart_items` table: one line per variant in a cart (unique `(cart_id, variant_id)`).
//! No price is stored: a line is priced from the catalog every time it is read.

use sea_orm::entity::prelude::*;

/// A line of a cart.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cart_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub cart_id: i64,
    pub product_id: i64,
    pub variant_id: i64,
    pub quantity: i64,
    pub added_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "crate::catalog::product::Entity",
        from = "Column::ProductId",
        to = "crate::catalog::product::Column::Id"
    )]
    Product,
    #[sea_orm(
        belongs_to = "super::shopping_cart::Entity",
        from = "Column::CartId",
        to = "super::shopping_cart::Column::Id"
    )]
    Cart,
    #[sea_orm(
        belongs_to = "crate::catalog::variant::Entity",
        from = "Column::VariantId",
        to = "crate::catalog::variant::Column::Id"
    )]
    Variant,
}

impl Related<crate::catalog::variant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Variant.def()
    }
}

impl Related<crate::catalog::product::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Product.def()
    }
}

impl Related<super::shopping_cart::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cart.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
