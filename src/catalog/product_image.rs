//! The `product_images` table: `storage_key` names the uploaded file in the media store, and
//! `small_key`, `medium_key` and `large_key` its sizes (see `catalog::images::sizes`) — null
//! for an image uploaded before sizes existed, until the `catalog.image_sizes` job has made
//! them.

use sea_orm::entity::prelude::*;

/// An image of a product.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "product_images")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub product_id: i64,
    pub storage_key: String,
    pub is_primary: bool,
    pub created_at: DateTimeUtc,
    pub small_key: Option<String>,
    pub medium_key: Option<String>,
    pub large_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// Every file of the image: the upload and its sizes, each once.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = vec![self.storage_key.clone()];
        for key in [&self.small_key, &self.medium_key, &self.large_key]
            .into_iter()
            .flatten()
        {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        keys
    }
}
