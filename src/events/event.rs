//! The `events` table: the outbox. An event is written in the transaction of its change, so it
//! exists if and only if the change committed.

use sea_orm::entity::prelude::*;

use super::kind::EventType;

/// An event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    /// The order events were written in.
    #[sea_orm(primary_key)]
    pub position: i64,
    /// `evt_<uuid>`: what receivers dedupe on.
    #[sea_orm(unique)]
    pub id: String,
    pub event_type: EventType,
    /// `order:<id>`, `product:<id>`, `variant:<id>`, …: what `sequence` counts per.
    pub resource: String,
    /// 1, 2, 3… per resource.
    pub sequence: i64,
    /// The resource as the API shows it to staff when the event was written (JSON).
    pub data: String,
    pub created_at: DateTimeUtc,
    /// When the broker confirmed it (`None`: not yet, or no broker).
    pub published_at: Option<DateTimeUtc>,
    /// When its webhook deliveries were made (`None`: not yet).
    pub dispatched_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
