//! Request and response types of `/api/webhooks/`, with their OpenAPI schemas. The signing
//! secret appears only in [`CreatedWebhookView`], the answer of a creation or a rotation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::delivery::{self, DeliveryStatus};
use super::endpoint;
use crate::events::kind::EventType;
use crate::http::error::{ApiError, field_error};
use crate::http::extract::{Fields, FromFields};

/// Longest URL.
pub const URL_MAX: usize = 2000;
/// Longest description.
pub const DESCRIPTION_MAX: usize = 500;
/// The subscription to every event type.
pub const ALL: &str = "*";

/// A webhook endpoint as staff see it (never with its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    #[schema(example = "https://hooks.example.com/emporium")]
    pub url: String,
    /// Event type names, or `["*"]`: every type.
    #[schema(example = json!(["order.paid", "order.cancelled"]))]
    pub events: Vec<String>,
    pub is_active: bool,
    /// `""`: none.
    pub description: String,
    /// Why the shop turned the endpoint off (too many failed deliveries); null otherwise.
    pub disabled_reason: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

impl From<endpoint::Model> for WebhookView {
    fn from(row: endpoint::Model) -> WebhookView {
        WebhookView {
            id: row.id,
            events: row.event_names(),
            url: row.url,
            is_active: row.is_active,
            description: row.description,
            disabled_reason: row.disabled_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// An endpoint with its new signing secret: shown once, when it is made or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookView {
    pub id: i64,
    #[schema(example = "https://hooks.example.com/emporium")]
    pub url: String,
    #[schema(example = json!(["order.paid", "order.cancelled"]))]
    pub events: Vec<String>,
    pub is_active: bool,
    pub description: String,
    pub disabled_reason: Option<String>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`Emporium-Signature`'s HMAC key, the whole string): shown only in
    /// this answer — keep it now.
    #[schema(example = "whsec_q3v2m0yX6n4hT0Y4cXJm1bVtQ3kG3o9w8r5sYk2l7aE=")]
    pub secret: String,
}

impl CreatedWebhookView {
    /// The view of `row` with `secret`, its secret in the clear.
    pub fn new(row: endpoint::Model, secret: String) -> CreatedWebhookView {
        let view = WebhookView::from(row);
        CreatedWebhookView {
            id: view.id,
            url: view.url,
            events: view.events,
            is_active: view.is_active,
            description: view.description,
            disabled_reason: view.disabled_reason,
            created_at: view.created_at,
            updated_at: view.updated_at,
            secret,
        }
    }
}

/// The fields of an endpoint as a request gives them (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct WebhookInput {
    /// Trimmed; checked against the address rules by the service.
    pub url: Option<String>,
    /// Known type names without repeats, or `["*"]`.
    pub events: Option<Vec<String>>,
    pub is_active: Option<bool>,
    pub description: Option<String>,
}

/// A list of subscribable event type names, or exactly `["*"]`: repeats dropped.
pub fn read_events(value: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "str",
            Value::Array(_) => "list",
            Value::Object(_) => "dict",
        };
        return Err(format!("Expected a list of items but got type \"{kind}\"."));
    };
    if items.is_empty() {
        return Err("This list may not be empty.".to_owned());
    }
    let mut names: Vec<String> = Vec::new();
    for item in items {
        let Some(name) = item.as_str().map(str::trim) else {
            return Err("Not a valid string.".to_owned());
        };
        let known = name == ALL
            || EventType::parse(name).is_some_and(|t| EventType::SUBSCRIBABLE.contains(&t));
        if !known {
            return Err(format!("\"{name}\" is not a valid event type."));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    if names.len() > 1 && names.iter().any(|n| n == ALL) {
        return Err("\"*\" subscribes to every event type and must be the only one.".to_owned());
    }
    Ok(names)
}

fn read_webhook_fields(fields: &mut Fields, partial: bool) -> WebhookInput {
    let url = fields.given_text("url", URL_MAX, partial);
    let given = fields.given::<Value>("events", partial);
    let events = given.and_then(|value| match read_events(&value) {
        Ok(names) => Some(names),
        Err(message) => {
            fields.error("events", message);
            None
        }
    });
    let is_active = fields.optional::<bool>("is_active");
    let description = match fields.nullable::<String>("description") {
        Some(None) => Some(String::new()),
        Some(Some(_)) => fields.optional_text("description", DESCRIPTION_MAX),
        None => None,
    };
    WebhookInput {
        url,
        events,
        is_active,
        description,
    }
}

/// `POST /api/webhooks/`.
#[derive(Debug, ToSchema)]
pub struct WebhookRequest {
    /// https (http only to a host in `EMPORIUM_WEBHOOK_ALLOW_HOSTS`), no user or password, and
    /// not a private, loopback or link-local address after DNS.
    #[schema(example = "https://hooks.example.com/emporium", max_length = 2000)]
    pub url: String,
    /// Event type names (at least one), or `["*"]` for every type.
    #[schema(example = json!(["order.paid", "order.cancelled"]), min_items = 1)]
    pub events: Vec<String>,
    /// Default true.
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(ignore)]
    pub input: WebhookInput,
}

impl FromFields for WebhookRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_webhook_fields(fields, false);
        Some(WebhookRequest {
            url: input.url.clone()?,
            events: input.events.clone()?,
            is_active: input.is_active,
            description: input.description.clone(),
            input,
        })
    }
}

/// `PATCH /api/webhooks/{id}/`: any of the fields. `is_active: true` also clears
/// `disabled_reason` and the count of failed deliveries.
#[derive(Debug, ToSchema)]
pub struct WebhookChanges {
    #[schema(nullable = false, max_length = 2000)]
    pub url: Option<String>,
    #[schema(nullable = false, min_items = 1)]
    pub events: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    /// Null clears it.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(ignore)]
    pub input: WebhookInput,
}

impl FromFields for WebhookChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_webhook_fields(fields, true);
        Some(WebhookChanges {
            url: input.url.clone(),
            events: input.events.clone(),
            is_active: input.is_active,
            description: input.description.clone(),
            input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_known_type_names_or_the_star_alone() {
        assert_eq!(
            read_events(&json!(["order.paid", "order.paid", "stock.low"])),
            Ok(vec!["order.paid".to_owned(), "stock.low".to_owned()])
        );
        assert_eq!(read_events(&json!(["*"])), Ok(vec!["*".to_owned()]));
        assert_eq!(
            read_events(&json!(["order.lost"])),
            Err("\"order.lost\" is not a valid event type.".to_owned())
        );
        assert_eq!(
            read_events(&json!(["ping"])),
            Err("\"ping\" is not a valid event type.".to_owned())
        );
        assert!(read_events(&json!([])).is_err());
        assert!(read_events(&json!(["*", "order.paid"])).is_err());
        assert!(read_events(&json!("order.paid")).is_err());
        assert!(read_events(&json!([1])).is_err());
    }
}

/// One event's delivery to one endpoint, as the deliveries log shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    #[schema(example = "evt_4f1c2b9a8e7d4c3b9a1f0e2d3c4b5a69")]
    pub event_id: String,
    #[schema(example = "order.paid")]
    pub event_type: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// The HTTP status of the last answer; null when there was none.
    pub last_status_code: Option<i32>,
    /// Why the last attempt did not count as delivered; null after a success.
    pub last_error: Option<String>,
    /// How long the last attempt took.
    pub duration_ms: Option<i64>,
    /// When a `pending` delivery is tried next; null otherwise.
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
}

impl From<delivery::Model> for DeliveryView {
    fn from(row: delivery::Model) -> DeliveryView {
        DeliveryView {
            id: row.id,
            event_id: row.event_id,
            event_type: row.event_type,
            status: row.status,
            attempts: row.attempts,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            duration_ms: row.duration_ms,
            next_attempt_at: row
                .next_attempt_at
                .filter(|_| row.status == DeliveryStatus::Pending),
            created_at: row.created_at,
        }
    }
}

/// `?status=` of the deliveries log.
#[derive(Debug, Deserialize)]
pub struct DeliveryFilter {
    pub status: Option<String>,
}

impl DeliveryFilter {
    /// The status asked for (`None`: all), or a 400 on `status`.
    pub fn status(&self) -> Result<Option<DeliveryStatus>, ApiError> {
        match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(name) => DeliveryStatus::parse(name).map(Some).ok_or_else(|| {
                field_error(
                    "status",
                    format!("Select a valid choice. {name} is not one of the available choices."),
                )
            }),
        }
    }
}
