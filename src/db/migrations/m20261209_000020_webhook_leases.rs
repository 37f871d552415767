//! Deliveries in flight: `locked_until` is the lease a worker holds on a delivery while it sends
//! it (the count of live leases per endpoint is its concurrency), and an index to find the due
//! deliveries of every endpoint at once.

use sea_orm_migration::prelude::*;

use super::{add_column_once, create_index_once, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Status,
    NextAttemptAt,
    LockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column_once(
            manager,
            WebhookDeliveries::Table,
            timestamp_null(manager, WebhookDeliveries::LockedUntil),
        )
        .await?;
        create_index_once(
            manager,
            "webhook_deliveries",
            "idx_webhook_deliveries_next",
            Index::create()
                .col(WebhookDeliveries::Status)
                .col(WebhookDeliveries::NextAttemptAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(WebhookDeliveries::Table)
                    .drop_column(WebhookDeliveries::LockedUntil)
                    .to_owned(),
            )
            .await
    }
}
