//! Payments: one payment (the provider's intent) per order, and every provider event applied,
//! recorded under a unique `(provider, event_id)` in the transaction of its effect so a repeated
//! delivery changes nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string_len, string_len_null};

use super::{create_index_once, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Payments {
    Table,
    Id,
    OrderId,
    UserId,
    Provider,
    ProviderRef,
    CapturedRef,
    ClientSecret,
    Amount,
    Currency,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PaymentEvents {
    Table,
    Id,
    Provider,
    EventId,
    EventType,
    PaymentId,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Payments::Table)
                    .if_not_exists()
                    .col(string_len(Payments::Id, 36).primary_key())
                    .col(string_len(Payments::OrderId, 36))
                    .col(big_integer(Payments::UserId))
                    .col(string_len(Payments::Provider, 16))
                    .col(string_len(Payments::ProviderRef, 100))
                    .col(string_len_null(Payments::CapturedRef, 100))
                    .col(string_len_null(Payments::ClientSecret, 200))
                    .col(big_integer(Payments::Amount))
                    .col(string_len(Payments::Currency, 3))
                    .col(string_len(Payments::Status, 16))
                    .col(timestamp(manager, Payments::CreatedAt))
                    .col(timestamp(manager, Payments::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Payments::Table, Payments::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // One payment per order: asking again for an unpaid order gives the same intent.
        create_index_once(
            manager,
            "payments",
            "uq_payments_order",
            Index::create().col(Payments::OrderId).unique().to_owned(),
        )
        .await?;
        create_index_once(
            manager,
            "payments",
            "uq_payments_provider_ref",
            Index::create()
                .col(Payments::Provider)
                .col(Payments::ProviderRef)
                .unique()
                .to_owned(),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(PaymentEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PaymentEvents::Id))
                    .col(string_len(PaymentEvents::Provider, 16))
                    .col(string_len(PaymentEvents::EventId, 100))
                    .col(string_len(PaymentEvents::EventType, 100))
                    .col(string_len_null(PaymentEvents::PaymentId, 36))
                    .col(timestamp(manager, PaymentEvents::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "payment_events",
            "uq_payment_events_provider_event",
            Index::create()
                .col(PaymentEvents::Provider)
                .col(PaymentEvents::EventId)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["payment_events", "payments"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
