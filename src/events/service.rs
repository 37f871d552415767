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
    /// A webhook endpoint: its pings.
    Webhook(i64),
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
            Resource::Webhook(id) => format!("webhook:{id}"),
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
    let written = rows.len() as u64;
    store::insert(conn, rows).await?;
    metrics::counter!("events_written_total").increment(written);
    Ok(())
}

/// Records a `ping` to the webhook endpoint `endpoint_id`: an event made for that one
/// delivery, so it is marked dispatched and published as it is written (it goes to no other
/// endpoint and never to the broker). Call it holding the endpoint's row lock.
pub async fn record_ping<C: ConnectionTrait>(
    conn: &C,
    endpoint_id: i64,
    data: Value,
    now: DateTime<Utc>,
) -> Result<event::Model, DbErr> {
    let resource = Resource::Webhook(endpoint_id).key();
    let sequence = store::last_sequence(conn, &resource).await? + 1;
    let row = event::Model {
        position: 0,
        id: new_id(),
        event_type: EventType::Ping,
        resource,
        sequence,
        data: data.to_string(),
        created_at: now,
        published_at: Some(now),
        dispatched_at: Some(now),
    };
    let mut active: event::ActiveModel = row.clone().into();
    active.position = sea_orm::NotSet;
    store::insert(conn, vec![active]).await?;
    Ok(row)
}

/// Up to `limit` events not yet made into webhook deliveries, oldest first, locked until the
/// transaction ends (a second dispatcher skips them).
pub async fn undispatched<C: ConnectionTrait>(
    conn: &C,
    limit: u64,
) -> Result<Vec<event::Model>, DbErr> {
    store::undispatched(conn, limit).await
}

/// Marks the events at `positions` as made into deliveries.
pub async fn mark_dispatched<C: ConnectionTrait>(
    conn: &C,
    positions: Vec<i64>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    store::mark_dispatched(conn, positions, now).await
}

/// One event by its `evt_…` id.
pub async fn event<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<event::Model>, DbErr> {
    store::by_id(conn, id).await
}

/// When the oldest event not yet made into deliveries was written.
pub async fn oldest_undispatched<C: ConnectionTrait>(
    conn: &C,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    store::oldest_undispatched(conn).await
}

/// The events of `resource`, oldest first (for staff and tests).
pub async fn events_of<C: ConnectionTrait>(
    conn: &C,
    resource: &Resource,
) -> Result<Vec<event::Model>, DbErr> {
    store::of_resource(conn, &resource.key()).await
}
