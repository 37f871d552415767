//! Payment refunds: every refund the provider reports — partial or in full, with its amount —
//! and every extra capture of an already paid order given back, naming that capture. Unique per
//! payment and capture, so an extra capture reported twice (a webhook and Checkout's answer) is
//! refunded once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string_len, string_len_null};

use super::{create_index_once, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PaymentRefunds {
    Table,
    Id,
    PaymentId,
    ProviderEventId,
    CapturedRef,
    Kind,
    Amount,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PaymentRefunds::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PaymentRefunds::Id))
                    .col(string_len(PaymentRefunds::PaymentId, 36))
                    .col(string_len(PaymentRefunds::ProviderEventId, 100))
                    .col(string_len_null(PaymentRefunds::CapturedRef, 100))
                    .col(string_len(PaymentRefunds::Kind, 16))
                    .col(big_integer(PaymentRefunds::Amount))
                    .col(timestamp(manager, PaymentRefunds::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PaymentRefunds::Table, PaymentRefunds::PaymentId)
                            .to(Payments::Table, Payments::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // NULL captures (refunds of the payment's own capture) are distinct on every engine.
        create_index_once(
            manager,
            "payment_refunds",
            "uq_payment_refunds_payment_capture",
            Index::create()
                .col(PaymentRefunds::PaymentId)
                .col(PaymentRefunds::CapturedRef)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentRefunds::Table).to_owned())
            .await
    }
}
