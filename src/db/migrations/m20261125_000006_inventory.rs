//! Inventory: every product row carries a `version` that each write of the product moves on
//! (in the same statement, under the row's own lock — cached responses are checked against
//! it), and `stock_movements` records every change of stock. The global `catalog_version` row
//! that every catalog write used to bump — one lock all checkouts would have queued on — goes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string_len, string_len_null};

use super::{create_index_once, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Version,
}

#[derive(DeriveIden)]
enum StockMovements {
    Table,
    Id,
    ProductId,
    Delta,
    StockAfter,
    Reason,
    Reference,
    IdempotencyKey,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL at once: look first, so a run that failed half-way can run again.
        if !manager.has_column("products", "version").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(Products::Table)
                        .add_column(big_integer(Products::Version).default(0))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(StockMovements::Table)
                    .if_not_exists()
                    .col(big_pk_auto(StockMovements::Id))
                    .col(big_integer(StockMovements::ProductId))
                    .col(big_integer(StockMovements::Delta))
                    .col(big_integer(StockMovements::StockAfter))
                    .col(string_len(StockMovements::Reason, 200))
                    .col(string_len(StockMovements::Reference, 100))
                    .col(string_len_null(StockMovements::IdempotencyKey, 100))
                    .col(timestamp(manager, StockMovements::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StockMovements::Table, StockMovements::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "stock_movements",
            "idx_stock_movements_product",
            Index::create()
                .col(StockMovements::ProductId)
                .col(StockMovements::Id)
                .to_owned(),
        )
        .await?;
        // A staff adjustment retried with the same Idempotency-Key is applied once (NULLs,
        // the movements of orders, are distinct on every engine).
        create_index_once(
            manager,
            "stock_movements",
            "uq_stock_movements_idempotency",
            Index::create()
                .col(StockMovements::ProductId)
                .col(StockMovements::IdempotencyKey)
                .unique()
                .to_owned(),
        )
        .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("catalog_version"))
                    .if_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StockMovements::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Products::Table)
                    .drop_column(Products::Version)
                    .to_owned(),
            )
            .await
    }
}
