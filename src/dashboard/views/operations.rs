//! Background jobs and webhook endpoints with their deliveries.

use askama::Template;

use super::Layout;
use super::forms::FormErrors;
use super::pager::Pager;

/// A job in the list (its payload is not shown: it may hold what a customer wrote).
pub struct JobRow {
    pub id: i64,
    pub kind: crate::jobs::Kind,
    pub state: &'static str,
    pub attempts: String,
    pub run_at: String,
    pub last_error: String,
    pub retryable: bool,
}

#[derive(Template)]
#[template(path = "jobs.html")]
pub struct JobsPage {
    pub layout: Layout,
    pub state: String,
    pub states: Vec<&'static str>,
    pub rows: Vec<JobRow>,
    pub pager: Pager,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
}

/// An endpoint in the list.
pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub description: String,
    pub is_active: bool,
    pub failures: i32,
    pub disabled_reason: String,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
pub struct WebhooksPage {
    pub layout: Layout,
    pub rows: Vec<EndpointRow>,
    pub pager: Pager,
    /// The create form, as typed.
    pub url: String,
    pub events: String,
    pub description: String,
    pub errors: FormErrors,
}

/// A delivery of an endpoint.
pub struct DeliveryRow {
    pub id: i64,
    pub event_type: String,
    pub status: &'static str,
    pub attempts: i32,
    pub last: String,
    pub next: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
pub struct WebhookPage {
    pub layout: Layout,
    pub endpoint: EndpointRow,
    /// Shown once, right after the endpoint was made.
    pub secret: Option<String>,
    pub status: String,
    pub statuses: Vec<&'static str>,
    pub rows: Vec<DeliveryRow>,
    pub pager: Pager,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
}
