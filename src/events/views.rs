//! An event as receivers get it — the webhook body and the broker message.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::event;
use super::kind::EventType;

/// `{"id", "type", "created_at", "sequence", "data"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    #[schema(example = "evt_4f1c2b9a8e7d4c3b9a1f0e2d3c4b5a69")]
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    /// 1, 2, 3… per resource: a receiver can put one order's events back in order.
    pub sequence: i64,
    /// The resource as the API showed it to staff when the event was written.
    #[schema(value_type = Object)]
    pub data: Value,
}

impl From<&event::Model> for EventView {
    fn from(row: &event::Model) -> EventView {
        EventView {
            id: row.id.clone(),
            event_type: row.event_type,
            created_at: row.created_at,
            sequence: row.sequence,
            data: serde_json::from_str(&row.data).unwrap_or(Value::Null),
        }
    }
}

impl EventView {
    /// The JSON body sent for `row`.
    pub fn body(row: &event::Model) -> String {
        serde_json::to_string(&EventView::from(row)).unwrap_or_else(|_| "{}".to_owned())
    }
}
