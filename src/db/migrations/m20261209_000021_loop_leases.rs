//! Leases of background loops that must run in one process at a time across every worker (the
//! events publisher): one row per loop, its holder and when it expires.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len;

use super::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoopLeases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoopLeases::Table)
                    .if_not_exists()
                    .col(string_len(LoopLeases::Name, 80).primary_key())
                    .col(string_len(LoopLeases::Holder, 80))
                    .col(timestamp(manager, LoopLeases::ExpiresAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoopLeases::Table).to_owned())
            .await
    }
}
