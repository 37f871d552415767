//! The `webhook_endpoints` table: where staff want events sent. `events` is a JSON list of type
//! names (or `["*"]`); `secret` and `previous_secret` are the signing secrets encrypted (see
//! [`super::secret`]), the previous one signing too until `previous_until`.

use sea_orm::entity::prelude::*;

/// An endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub url: String,
    /// JSON list of event type names, or `["*"]`.
    pub events: String,
    pub is_active: bool,
    /// `""`: none.
    pub description: String,
    /// The `whsec_…` secret, encrypted (base64).
    pub secret: String,
    /// The secret before the last rotation, encrypted.
    pub previous_secret: Option<String>,
    /// Until when the previous secret signs too.
    pub previous_until: Option<DateTimeUtc>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i32,
    /// Why the endpoint was turned off, when the system did it.
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The event type names it subscribes to (`["*"]`: all).
    pub fn event_names(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}
