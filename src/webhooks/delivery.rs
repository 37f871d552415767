//! The `webhook_deliveries` table: one event to one endpoint, with its attempts so far. One per
//! endpoint and event (`(endpoint_id, event_id)` is unique); deleting the endpoint drops it.

use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

/// A delivery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub endpoint_id: i64,
    /// The event's `evt_…`.
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The HTTP status of the last attempt, when there was an answer.
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    /// How long the last attempt took.
    pub duration_ms: Option<i64>,
    /// When a `pending` delivery is tried next.
    pub next_attempt_at: Option<DateTimeUtc>,
    /// While a worker sends it: until when its claim holds.
    pub locked_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a delivery stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet; tried again at `next_attempt_at`.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// A 2xx answered.
    #[sea_orm(string_value = "delivered")]
    Delivered,
    /// Given up after three days of retries.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [DeliveryStatus; 3] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}
