//! Image sizes: each product image gains the keys of its small, medium and large files. Images
//! stored before have none; the `catalog.image_sizes` job makes them (see
//! `catalog::products::image_sizes`), and until then the API shows the original for each size.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ProductImages {
    Table,
    SmallKey,
    MediumKey,
    LargeKey,
}

const COLUMNS: [ProductImages; 3] = [
    ProductImages::SmallKey,
    ProductImages::MediumKey,
    ProductImages::LargeKey,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL at once: look first, so a run that failed half-way can run again.
        for column in COLUMNS {
            if !manager
                .has_column("product_images", &column.to_string())
                .await?
            {
                manager
                    .alter_table(
                        Table::alter()
                            .table(ProductImages::Table)
                            .add_column(string_len_null(column, 255))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(ProductImages::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
