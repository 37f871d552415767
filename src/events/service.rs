//! Recording events: in the caller's transaction, so an event exists if and only if its change
//! committed. Each gets a stable id (`evt_<uuid>`), its time, and the next `sequence` of its
//! resource — read under the resource's row lock, which the change itself holds (an order's
//! conditional update, a product's or a variant's lock), and guarded by the unique index on
//! `(resource, sequence)`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Set};
use serde::Serialize;
use serde_json::Value;

use super::kind::EventType;
use super::{event, store};

/// What an event is about: its sequence counts per resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    Order(String),
    Payment(String),
    Product(i64),
    Variant(i64),
    Review(i64),
    Customer(i64),
}

impl Resource {
    /// The key stored: `order:<id>`, `variant:<id>`, ….
    pub fn key(&self) -> String {
        match self {
            Resource::Order(id) => format!("order:{id}"),
            Resource::Payment(id) => format!("payment:{id}"),
            Resource::Product(id) => format!("product:{id}"),
            Resource::Variant(id) => format!("variant:{id}"),
            Resource::Review(id) => format!("review:{id}"),
            Resource::Customer(id) => format!("customer:{id}"),
        }
    }
}

/// An event to record.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub event_type: EventType,
    pub resource: Resource,
    /// The resource as the API shows it to staff, now.
    pub data: Value,
    /// The resource was created in this transaction: its sequence starts at 1, unread.
    pub new_resource: bool,
}

impl NewEvent {
    /// An event about `resource`, with `data` serialised now.
    pub fn of(
        event_type: EventType,
        resource: Resource,
        data: &impl Serialize,
    ) -> Result<NewEvent, DbErr> {
        let data = serde_json::to_value(data)
            .map_err(|e| DbErr::Custom(format!("the {} event's data: {e}", event_type.as_str())))?;
        Ok(NewEvent {
            event_type,
            resource,
            data,
            new_resource: false,
        })
    }

    /// The same event, about a resource this transaction created.
    pub fn about_new(self) -> NewEvent {
        NewEvent {
            new_resource: true,
            ..self
        }
    }
}

/// A new event id: `evt_` and a UUID's 32 hex digits.
pub fn new_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

/// Records `events` in `conn` (the change's transaction): one read of the last sequence per
/// resource that existed before it, and one insert.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    events: Vec<NewEvent>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut rows = Vec::with_capacity(events.len());
    for event in events {
        let key = event.resource.key();
        let sequence = match last.get(&key) {
            Some(n) => n + 1,
            None if event.new_resource => 1,
            None => store::last_sequence(conn, &key).await? + 1,
        };
        last.insert(key.clone(), sequence);
        rows.push(event::ActiveModel {
            id: Set(new_id()),
            event_type: Set(event.event_type),
            resource: Set(key),
            sequence: Set(sequence),
            data: Set(event.data.to_string()),
            created_at: Set(now),
            published_at: Set(None),
            dispatched_at: Set(None),
            ..Default::default()
        });
    }
    store::insert(conn, rows).await
}

/// The events of `resource`, oldest first (for staff and tests).
pub async fn events_of<C: ConnectionTrait>(
    conn: &C,
    resource: &Resource,
) -> Result<Vec<event::Model>, DbErr> {
    store::of_resource(conn, &resource.key()).await
}
