//! The catalog: categories (a tree), products, product images, and the catalog version that
//! every catalog write bumps (cached responses are keyed by it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, string_len, text,
};

use super::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    Name,
    Slug,
    ParentId,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Name,
    Slug,
    Description,
    Price,
    Stock,
    IsActive,
    CategoryId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProductImages {
    Table,
    Id,
    ProductId,
    StorageKey,
    IsPrimary,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CatalogVersion {
    Table,
    Id,
    Version,
}

async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: impl IntoIden + 'static,
    columns: Vec<DynIden>,
) -> Result<(), DbErr> {
    let table = table.into_iden().to_string();
    let mut statement = Index::create();
    for column in columns {
        statement.col(column);
    }
    super::create_index_once(manager, &table, name, statement.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Categories::Id))
                    .col(string_len(Categories::Name, 120))
                    .col(string_len(Categories::Slug, 140).unique_key())
                    .col(big_integer_null(Categories::ParentId))
                    .col(text(Categories::Description))
                    .col(timestamp(manager, Categories::CreatedAt))
                    .col(timestamp(manager, Categories::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("categories_parent")
                            .from(Categories::Table, Categories::ParentId)
                            .to(Categories::Table, Categories::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "categories_parent_id",
            Categories::Table,
            vec![Categories::ParentId.into_iden()],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Products::Id))
                    .col(string_len(Products::Name, 200))
                    .col(string_len(Products::Slug, 220).unique_key())
                    .col(text(Products::Description))
                    .col(big_integer(Products::Price))
                    .col(big_integer(Products::Stock))
                    .col(boolean(Products::IsActive).default(true))
                    .col(big_integer(Products::CategoryId))
                    .col(timestamp(manager, Products::CreatedAt))
                    .col(timestamp(manager, Products::UpdatedAt))
                    .check(Expr::col(Products::Price).gte(0))
                    .check(Expr::col(Products::Stock).gte(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("products_category")
                            .from(Products::Table, Products::CategoryId)
                            .to(Categories::Table, Categories::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // What the public list filters and sorts by.
        for (name, columns) in [
            (
                "products_active_created",
                vec![
                    Products::IsActive.into_iden(),
                    Products::CreatedAt.into_iden(),
                ],
            ),
            (
                "products_active_price",
                vec![Products::IsActive.into_iden(), Products::Price.into_iden()],
            ),
            (
                "products_active_name",
                vec![Products::IsActive.into_iden(), Products::Name.into_iden()],
            ),
            ("products_stock", vec![Products::Stock.into_iden()]),
            (
                "products_category_id",
                vec![Products::CategoryId.into_iden()],
            ),
        ] {
            index(manager, name, Products::Table, columns).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ProductImages::Table)
                    .if_not_exists()
                    .col(big_pk_auto(ProductImages::Id))
                    .col(big_integer(ProductImages::ProductId))
                    .col(string_len(ProductImages::StorageKey, 255))
                    .col(boolean(ProductImages::IsPrimary).default(false))
                    .col(timestamp(manager, ProductImages::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("product_images_product")
                            .from(ProductImages::Table, ProductImages::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "product_images_product_id",
            ProductImages::Table,
            vec![ProductImages::ProductId.into_iden()],
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(CatalogVersion::Table)
                    .if_not_exists()
                    .col(big_integer(CatalogVersion::Id).primary_key())
                    .col(big_integer(CatalogVersion::Version))
                    .to_owned(),
            )
            .await?;
        // A run that failed after this insert must be able to run again (migrations never run
        // in parallel: `db::migrate` holds a lock).
        let exists = manager
            .get_connection()
            .query_one(
                &Query::select()
                    .expr(Expr::col(CatalogVersion::Id))
                    .from(CatalogVersion::Table)
                    .and_where(Expr::col(CatalogVersion::Id).eq(1))
                    .to_owned(),
            )
            .await?
            .is_some();
        if exists {
            return Ok(());
        }
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(CatalogVersion::Table)
                    .columns([CatalogVersion::Id, CatalogVersion::Version])
                    .values_panic([1.into(), 1.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CatalogVersion::Table.into_iden(),
            ProductImages::Table.into_iden(),
            Products::Table.into_iden(),
            Categories::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
