//! Invoices: the PDF rendered when an order is paid, kept in the database — private by
//! construction (never under the public media URLs or a public bucket), served only to the
//! order's owner and staff, and never changed once issued.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len;

use super::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Invoices {
    Table,
    OrderId,
    Pdf,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut pdf = ColumnDef::new(Invoices::Pdf);
        match manager.get_database_backend() {
            // BLOB stops at 64 KiB on MySQL; a long order's invoice can pass it.
            DbBackend::MySql => pdf.custom("LONGBLOB"),
            _ => pdf.blob(),
        };
        manager
            .create_table(
                Table::create()
                    .table(Invoices::Table)
                    .if_not_exists()
                    .col(string_len(Invoices::OrderId, 36).primary_key())
                    .col(pdf.not_null())
                    .col(timestamp(manager, Invoices::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Invoices::Table, Invoices::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invoices::Table).to_owned())
            .await
    }
}
