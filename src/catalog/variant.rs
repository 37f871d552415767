//! The `product_variants` table: what is sold — one per combination of a product's option
//! values (one for a product without options). `price` in minor units.

use sea_orm::entity::prelude::*;

/// A variant of a product.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "product_variants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i64,
    /// As staff wrote it.
    pub sku: String,
    /// Lower-cased: unique in the shop.
    pub sku_key: String,
    /// `name\u{1f}value`, lower-cased, of the product's first, second and third option (`""`
    /// past its options): unique per product together.
    pub option1: String,
    pub option2: String,
    pub option3: String,
    /// The option values as shown: a JSON object, name → value.
    pub options: Option<String>,
    pub price: i64,
    pub compare_at_price: Option<i64>,
    pub stock: i64,
    pub is_active: bool,
    pub weight_grams: Option<i64>,
    pub tax_class: Option<String>,
    pub image_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::product::Entity",
        from = "Column::ProductId",
        to = "super::product::Column::Id"
    )]
    Product,
}

impl Related<super::product::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Product.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
