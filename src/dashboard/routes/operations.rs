//! Background jobs (a dead one retried) and webhook endpoints (created — the secret shown once
//! —, turned off and on, deleted; their deliveries listed and sent again), through the jobs'
//! and webhooks' own functions.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::dashboard::guard::{Staff, StaffForm};
use crate::dashboard::page::{self, Refusal};
use crate::dashboard::service::Session;
use crate::dashboard::views::forms::FormErrors;
use crate::dashboard::views::operations::{
    DeliveryRow, EndpointRow, JobRow, JobsPage, WebhookPage, WebhooksPage,
};
use crate::dashboard::views::orders::shop_time;
use crate::dashboard::views::pager::{PAGE_SIZE, Pager, offset, page_number};
use crate::http::error::{ApiError, conflict, not_found};
use crate::http::extract::read;
use crate::jobs::job::State as JobState;
use crate::jobs::queue::{self, RetryError};
use crate::state::AppState;
use crate::webhooks::delivery::DeliveryStatus;
use crate::webhooks::endpoint;
use crate::webhooks::service as webhooks;
use crate::webhooks::views::{WebhookChanges, WebhookRequest};

pub fn add(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/admin/jobs/", get(jobs))
        .route("/admin/jobs/{id}/retry/", post(retry_job))
        .route("/admin/webhooks/", get(endpoints).post(create_endpoint))
        .route("/admin/webhooks/{id}/", get(endpoint_page))
        .route("/admin/webhooks/{id}/active/", post(set_active))
        .route("/admin/webhooks/{id}/delete/", post(delete_endpoint))
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}/retry/",
            post(retry_delivery),
        )
}

#[derive(serde::Deserialize)]
struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    status: String,
    page: Option<String>,
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "retried" => Some("Queued again, due now."),
        "sent" => Some("Sent again: its status below is the answer."),
        "saved" => Some("Saved."),
        _ => None,
    }
}

async fn jobs_page(
    state: &AppState,
    staff: &Session,
    query: &ListQuery,
) -> Result<JobsPage, Refusal> {
    let number = page_number(query.page.as_deref());
    let mut errors = FormErrors::none();
    let wanted = if query.state.is_empty() {
        None
    } else {
        let parsed = JobState::parse(&query.state);
        if parsed.is_none() {
            errors = FormErrors::field("state", "Select a valid choice.");
        }
        parsed
    };
    let (count, found) = if errors.is_empty() {
        queue::list(&state.db, wanted, offset(number), PAGE_SIZE).await?
    } else {
        (0, Vec::new())
    };
    let tz = state.settings.time_zone;
    Ok(JobsPage {
        layout: super::layout(state, staff, "jobs"),
        states: JobState::ALL.iter().map(|s| s.as_str()).collect(),
        rows: found
            .into_iter()
            .map(|job| JobRow {
                id: job.id,
                kind: job.kind,
                state: job.state.as_str(),
                attempts: format!("{} of {}", job.attempts, job.max_attempts),
                run_at: shop_time(job.run_at, tz),
                last_error: job
                    .last_error
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect(),
                retryable: matches!(job.state, JobState::Dead | JobState::Failed),
            })
            .collect(),
        pager: Pager::new(
            "/admin/jobs/",
            &[("state", query.state.as_str())],
            number,
            count,
        ),
        state: query.state.clone(),
        errors,
        notice: notice(query.done.as_deref()),
    })
}

async fn jobs(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Query(query): Query<ListQuery>,
) -> Response {
    match jobs_page(&state, &staff, &query).await {
        Ok(page) if page.errors.is_empty() => page::render(&page),
        Ok(page) => page::render_with(StatusCode::BAD_REQUEST, &page),
        Err(refusal) => refusal.page(),
    }
}

async fn retry_job(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    let error = match queue::retry(&state.db, id).await {
        Ok(_) => return page::see_other("/admin/jobs/?done=retried"),
        Err(RetryError::NotFound) => not_found(),
        Err(RetryError::NotRetryable(s)) => {
            conflict(format!("A {} job cannot be retried.", s.as_str()))
        }
        Err(RetryError::Database(e)) => e.into(),
    };
    let query = ListQuery {
        state: String::new(),
        status: String::new(),
        page: None,
        done: None,
    };
    match jobs_page(&state, &form.staff, &query).await {
        Ok(mut page) => {
            let (status, errors) = FormErrors::of(error);
            page.errors = errors;
            page::render_with(status, &page)
        }
        Err(refusal) => refusal.page(),
    }
}

fn endpoint_row(e: endpoint::Model) -> EndpointRow {
    EndpointRow {
        events: e.event_names().join(", "),
        id: e.id,
        url: e.url,
        description: e.description,
        is_active: e.is_active,
        failures: e.consecutive_failures,
        disabled_reason: e.disabled_reason.unwrap_or_default(),
    }
}

async fn endpoints_page(
    state: &AppState,
    staff: &Session,
    number: u64,
) -> Result<WebhooksPage, Refusal> {
    let (count, found) = webhooks::list_webhooks(&state.db, offset(number), PAGE_SIZE).await?;
    Ok(WebhooksPage {
        layout: super::layout(state, staff, "webhooks"),
        rows: found.into_iter().map(endpoint_row).collect(),
        pager: Pager::new("/admin/webhooks/", &[], number, count),
        url: String::new(),
        events: String::new(),
        description: String::new(),
        errors: FormErrors::none(),
    })
}

async fn endpoints(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Query(query): Query<ListQuery>,
) -> Response {
    match endpoints_page(&state, &staff, page_number(query.page.as_deref())).await {
        Ok(page) => page::render(&page),
        Err(refusal) => refusal.page(),
    }
}

/// `a, b` → `["a", "b"]`.
fn event_list(text: &str) -> Value {
    let names: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    json!(names)
}

async fn create_endpoint(State(state): State<AppState>, form: StaffForm) -> Response {
    let mut object = form.object(&["url", "description"]);
    object.insert(
        "events".to_owned(),
        event_list(form.get("events").unwrap_or("")),
    );
    let created = async {
        let request: WebhookRequest = read(object, state.settings.currency)?;
        webhooks::create_webhook(&state.db, &state.settings, request.input).await
    };
    match created.await {
        // The secret is shown on this answer only (pages are never cached), not after a
        // redirect: it is not kept anywhere it could be shown from again.
        Ok((row, secret)) => match endpoint_view(&state, &form.staff, row.id, "", 1).await {
            Ok(mut page) => {
                page.secret = Some(secret);
                page::render_with(StatusCode::CREATED, &page)
            }
            Err(refusal) => refusal.page(),
        },
        Err(error) => {
            let (status, errors) = FormErrors::of(error);
            match endpoints_page(&state, &form.staff, 1).await {
                Ok(mut page) => {
                    page.url = form.get("url").unwrap_or("").to_owned();
                    page.events = form.get("events").unwrap_or("").to_owned();
                    page.description = form.get("description").unwrap_or("").to_owned();
                    page.errors = errors;
                    page::render_with(status, &page)
                }
                Err(refusal) => refusal.page(),
            }
        }
    }
}

async fn endpoint_view(
    state: &AppState,
    staff: &Session,
    id: i64,
    status: &str,
    number: u64,
) -> Result<WebhookPage, Refusal> {
    let row = webhooks::get_webhook(&state.db, id)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => Refusal::NotFound,
            other => Refusal::Api(other),
        })?;
    let filter = DeliveryStatus::parse(status);
    let (count, found) =
        webhooks::list_deliveries(&state.db, id, filter, offset(number), PAGE_SIZE).await?;
    let tz = state.settings.time_zone;
    let path = format!("/admin/webhooks/{id}/");
    Ok(WebhookPage {
        layout: super::layout(state, staff, "webhooks"),
        endpoint: endpoint_row(row),
        secret: None,
        statuses: DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect(),
        rows: found
            .into_iter()
            .map(|d| DeliveryRow {
                id: d.id,
                event_type: d.event_type,
                status: d.status.as_str(),
                attempts: d.attempts,
                last: match (d.last_status_code, d.last_error) {
                    (Some(code), _) => format!("HTTP {code}"),
                    (None, Some(error)) => error.chars().take(200).collect(),
                    (None, None) => String::new(),
                },
                next: d
                    .next_attempt_at
                    .map(|at| shop_time(at, tz))
                    .unwrap_or_default(),
                at: shop_time(d.created_at, tz),
            })
            .collect(),
        pager: Pager::new(&path, &[("status", status)], number, count),
        status: status.to_owned(),
        errors: FormErrors::none(),
        notice: None,
    })
}

async fn endpoint_page(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Query(query): Query<ListQuery>,
) -> Response {
    let number = page_number(query.page.as_deref());
    match endpoint_view(&state, &staff, id, &query.status, number).await {
        Ok(mut page) => {
            page.notice = notice(query.done.as_deref());
            page::render(&page)
        }
        Err(refusal) => refusal.page(),
    }
}

async fn after(
    state: &AppState,
    form: &StaffForm,
    id: i64,
    outcome: Result<(), ApiError>,
    done: &str,
) -> Response {
    let error = match outcome {
        Ok(()) => return page::see_other(&format!("/admin/webhooks/{id}/?done={done}")),
        Err(error) => error,
    };
    match endpoint_view(state, &form.staff, id, "", 1).await {
        Ok(mut page) => {
            let (status, errors) = FormErrors::of(error);
            page.errors = errors;
            page::render_with(status, &page)
        }
        Err(refusal) => refusal.page(),
    }
}

async fn set_active(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    let outcome = async {
        let changes: WebhookChanges = read(form.object(&["is_active"]), state.settings.currency)?;
        webhooks::update_webhook(&state.db, &state.settings, id, changes.input).await?;
        Ok(())
    };
    let outcome = outcome.await;
    after(&state, &form, id, outcome, "saved").await
}

async fn delete_endpoint(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    match webhooks::delete_webhook(&state.db, id).await {
        Ok(()) | Err(ApiError::NotFound(_)) => page::see_other("/admin/webhooks/"),
        Err(e) => after(&state, &form, id, Err(e), "").await,
    }
}

async fn retry_delivery(
    State(state): State<AppState>,
    Path((id, delivery)): Path<(i64, i64)>,
    form: StaffForm,
) -> Response {
    let outcome = webhooks::retry_delivery(&state, id, delivery)
        .await
        .map(|_| ());
    after(&state, &form, id, outcome, "sent").await
}
