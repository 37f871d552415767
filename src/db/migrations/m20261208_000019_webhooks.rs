//! Outgoing webhooks: the endpoints staff register (their signing secret encrypted, a rotated-out
//! secret kept for a day) and the deliveries of events to them, one per endpoint and event.
//! Deleting an endpoint drops its deliveries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, integer, integer_null, string_len,
    string_len_null, text, text_null,
};

use super::{create_index_once, timestamp, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Events,
    IsActive,
    Description,
    Secret,
    PreviousSecret,
    PreviousUntil,
    ConsecutiveFailures,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EndpointId,
    EventId,
    EventType,
    Status,
    Attempts,
    LastStatusCode,
    LastError,
    DurationMs,
    NextAttemptAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WebhookEndpoints::Id))
                    .col(string_len(WebhookEndpoints::Url, 2000))
                    .col(text(WebhookEndpoints::Events))
                    .col(boolean(WebhookEndpoints::IsActive))
                    .col(string_len(WebhookEndpoints::Description, 500))
                    .col(string_len(WebhookEndpoints::Secret, 200))
                    .col(string_len_null(WebhookEndpoints::PreviousSecret, 200))
                    .col(timestamp_null(manager, WebhookEndpoints::PreviousUntil))
                    .col(integer(WebhookEndpoints::ConsecutiveFailures).default(0))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp(manager, WebhookEndpoints::CreatedAt))
                    .col(timestamp(manager, WebhookEndpoints::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WebhookDeliveries::Id))
                    .col(big_integer(WebhookDeliveries::EndpointId))
                    .col(string_len(WebhookDeliveries::EventId, 40))
                    .col(string_len(WebhookDeliveries::EventType, 40))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(big_integer_null(WebhookDeliveries::DurationMs))
                    .col(timestamp_null(manager, WebhookDeliveries::NextAttemptAt))
                    .col(timestamp(manager, WebhookDeliveries::CreatedAt))
                    .col(timestamp(manager, WebhookDeliveries::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker looks for an endpoint's due deliveries; the log lists them by status.
        create_index_once(
            manager,
            "webhook_deliveries",
            "idx_webhook_deliveries_due",
            Index::create()
                .col(WebhookDeliveries::EndpointId)
                .col(WebhookDeliveries::Status)
                .col(WebhookDeliveries::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        // One delivery per endpoint and event, however often the dispatcher runs.
        create_index_once(
            manager,
            "webhook_deliveries",
            "uq_webhook_deliveries_event",
            Index::create()
                .col(WebhookDeliveries::EndpointId)
                .col(WebhookDeliveries::EventId)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned())
            .await
    }
}
