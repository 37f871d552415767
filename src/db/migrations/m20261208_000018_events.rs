//! The events outbox: every change an integrator cares about, written in the transaction of the
//! change. `position` orders them as they were written; `(resource, sequence)` is unique, so a
//! resource's events count 1, 2, 3… with no gap and no twin; `published_at` and `dispatched_at`
//! mark the events the broker and the webhooks have taken.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string_len, text};

use super::{create_index_once, timestamp, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Position,
    Id,
    EventType,
    Resource,
    Sequence,
    Data,
    CreatedAt,
    PublishedAt,
    DispatchedAt,
}

/// The event's JSON: MEDIUMTEXT on MySQL (16 MiB), whose TEXT holds only 64 KiB — less than a
/// product whose description is 20,000 four-byte characters.
fn data_column(manager: &SchemaManager<'_>) -> ColumnDef {
    match manager.get_database_backend() {
        sea_orm::DbBackend::MySql => ColumnDef::new(Events::Data)
            .custom("MEDIUMTEXT CHARACTER SET utf8mb4")
            .not_null()
            .take(),
        _ => text(Events::Data),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Events::Position))
                    .col(string_len(Events::Id, 40))
                    .col(string_len(Events::EventType, 40))
                    .col(string_len(Events::Resource, 80))
                    .col(big_integer(Events::Sequence))
                    .col(data_column(manager))
                    .col(timestamp(manager, Events::CreatedAt))
                    .col(timestamp_null(manager, Events::PublishedAt))
                    .col(timestamp_null(manager, Events::DispatchedAt))
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "events",
            "uq_events_id",
            Index::create().col(Events::Id).unique().to_owned(),
        )
        .await?;
        create_index_once(
            manager,
            "events",
            "uq_events_resource_sequence",
            Index::create()
                .col(Events::Resource)
                .col(Events::Sequence)
                .unique()
                .to_owned(),
        )
        .await?;
        // The relays look for what they have not taken yet, oldest first.
        for (name, column) in [
            ("idx_events_unpublished", Events::PublishedAt),
            ("idx_events_undispatched", Events::DispatchedAt),
        ] {
            create_index_once(
                manager,
                "events",
                name,
                Index::create().col(column).col(Events::Position).to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}
