//! Webhook endpoints with the database, for staff: the URL checked against the address rules
//! before anything is written, the signing secret made here, stored encrypted and answered in
//! the clear only once; rotation keeps the old secret signing for a day.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{DatabaseConnection, Set};

use serde_json::json;
use tokio::sync::Semaphore;

use super::delivery::{self, DeliveryStatus};
use super::delivery_store::{self, NewDelivery};
use super::endpoint;
use super::outcome::{self, Trigger};
use super::pool::lease;
use super::safe_url::check_url;
use super::secret::{self, SecretCipher};
use super::sender::{self, Attempt, Message};
use super::store;
use super::views::WebhookInput;
use crate::db;
use crate::events::service as events;
use crate::events::views::EventView;
use crate::http::error::{ApiError, conflict, field_error, internal, not_found};
use crate::settings::Settings;
use crate::state::AppState;
use crate::time;

/// How long a rotated-out secret keeps signing deliveries.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);

/// The cipher of webhook secrets under the shop's `EMPORIUM_SECRET_KEY`.
pub fn cipher(settings: &Settings) -> SecretCipher {
    SecretCipher::new(settings.secret_key.expose())
}

/// A 400 on `url` saying why, unless `url` may be delivered to.
async fn checked_url(settings: &Settings, url: &str) -> Result<(), ApiError> {
    let timeout = settings.webhook_delivery.timeout;
    match tokio::time::timeout(timeout, check_url(url, &settings.webhook_allow_hosts)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(problem)) => Err(field_error("url", problem.to_string())),
        Err(_) => Err(field_error(
            "url",
            format!(
                "The host did not resolve within {} s.",
                timeout.as_secs_f64()
            ),
        )),
    }
}

/// How many endpoints are failing: turned off after too many failures, or failing now (the
/// dashboard's overview).
pub async fn failing_count<C: sea_orm::ConnectionTrait>(conn: &C) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};
    endpoint::Entity::find()
        .filter(
            Condition::any()
                .add(endpoint::Column::DisabledReason.is_not_null())
                .add(endpoint::Column::ConsecutiveFailures.gt(0)),
        )
        .count(conn)
        .await
}

/// A page of endpoints, newest first.
pub async fn list_webhooks(
    db: &DatabaseConnection,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<endpoint::Model>), ApiError> {
    Ok(store::page(db, offset, limit).await?)
}

/// One endpoint.
pub async fn get_webhook(db: &DatabaseConnection, id: i64) -> Result<endpoint::Model, ApiError> {
    store::endpoint(db, id).await?.ok_or_else(not_found)
}

/// Creates an endpoint with a new secret: the row, and the secret in the clear.
pub async fn create_webhook(
    db: &DatabaseConnection,
    settings: &Settings,
    input: WebhookInput,
) -> Result<(endpoint::Model, String), ApiError> {
    let url = input.url.unwrap_or_default();
    checked_url(settings, &url).await?;
    let secret = secret::generate();
    let events = serde_json::to_string(&input.events.unwrap_or_default()).map_err(internal)?;
    let now = time::now();
    let row = endpoint::ActiveModel {
        url: Set(url),
        events: Set(events),
        is_active: Set(input.is_active.unwrap_or(true)),
        description: Set(input.description.unwrap_or_default()),
        secret: Set(cipher(settings).encrypt(&secret)),
        previous_secret: Set(None),
        previous_until: Set(None),
        consecutive_failures: Set(0),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok((store::insert(db, row).await?, secret))
}

/// Changes the given fields of an endpoint; a new `url` is checked first. Turning an endpoint
/// that was off on forgets why it was turned off and its failures, and makes its pending
/// deliveries due now (saying `true` to one that is on changes no schedule).
pub async fn update_webhook(
    db: &DatabaseConnection,
    settings: &Settings,
    id: i64,
    input: WebhookInput,
) -> Result<endpoint::Model, ApiError> {
    if let Some(url) = &input.url {
        // Outside the transaction: DNS may take a while, and holds no lock.
        checked_url(settings, url).await?;
    }
    let tx = db::begin_write(db).await?;
    let current = store::endpoint_locked(&tx, id)
        .await?
        .ok_or_else(not_found)?;
    let was_active = current.is_active;
    let mut row: endpoint::ActiveModel = current.into();
    db::set_given(&mut row.url, input.url);
    if let Some(events) = input.events {
        row.events = Set(serde_json::to_string(&events).map_err(internal)?);
    }
    db::set_given(&mut row.description, input.description);
    let now = time::now();
    if let Some(active) = input.is_active {
        row.is_active = Set(active);
        if active && !was_active {
            row.disabled_reason = Set(None);
            row.consecutive_failures = Set(0);
            // What waited while it was off goes now.
            delivery_store::due_now(&tx, id, now).await?;
        }
    }
    row.updated_at = Set(now);
    let row = store::update(&tx, row).await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes an endpoint and its deliveries.
pub async fn delete_webhook(db: &DatabaseConnection, id: i64) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
    let deleted = store::delete(&tx, id).await?;
    tx.commit().await?;
    if deleted { Ok(()) } else { Err(not_found()) }
}

/// Gives an endpoint a new secret: the row, and the new secret in the clear. The current one
/// becomes the previous and keeps signing for [`ROTATION_OVERLAP`]; a previous one from an
/// earlier rotation is dropped.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    settings: &Settings,
    id: i64,
) -> Result<(endpoint::Model, String), ApiError> {
    let secret = secret::generate();
    let now = time::now();
    let tx = db::begin_write(db).await?;
    let current = store::endpoint_locked(&tx, id)
        .await?
        .ok_or_else(not_found)?;
    let previous = current.secret.clone();
    let mut row: endpoint::ActiveModel = current.into();
    row.secret = Set(cipher(settings).encrypt(&secret));
    row.previous_secret = Set(Some(previous));
    row.previous_until = Set(Some(now + ROTATION_OVERLAP));
    row.updated_at = Set(now);
    let row = store::update(&tx, row).await?;
    tx.commit().await?;
    Ok((row, secret))
}

/// The secrets a delivery to endpoint `endpoint_id` at `now` is signed with: the current one,
/// and the previous one while `now` is before `previous_until`.
pub async fn signing_secrets(
    db: &DatabaseConnection,
    key: &SecretCipher,
    endpoint_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ApiError> {
    let row = store::endpoint(db, endpoint_id)
        .await?
        .ok_or_else(not_found)?;
    secrets_of(key, &row, now).map_err(|_| internal("a webhook secret could not be decrypted"))
}

/// The secrets `row` signs with at `now` (the current one first); `Err` when one cannot be
/// decrypted (`EMPORIUM_SECRET_KEY` changed since it was stored).
fn secrets_of(
    key: &SecretCipher,
    row: &endpoint::Model,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ()> {
    let mut secrets = vec![key.decrypt(&row.secret).map_err(|_| ())?];
    if let (Some(previous), Some(until)) = (&row.previous_secret, row.previous_until)
        && now < until
    {
        secrets.push(key.decrypt(previous).map_err(|_| ())?);
    }
    Ok(secrets)
}

/// Attempts sent while a staff member waits (a retry or a ping), over the whole process: each
/// may take the whole timeout, so more are refused with a 503 rather than queued.
static SENDING_NOW: Semaphore = Semaphore::const_new(4);

/// Sends `delivery` once: its event, signed with the endpoint's secrets now. An event or
/// endpoint that is gone is a failed attempt that says so.
pub async fn send(state: &AppState, delivery: &delivery::Model) -> Result<Attempt, ApiError> {
    let unsent = |why: &str| Attempt {
        delivered: false,
        status_code: None,
        error: Some(format!("Not sent: {why}")),
        duration_ms: 0,
    };
    let Some(event) = events::event(&state.db, &delivery.event_id).await? else {
        return Ok(unsent("the event is no longer stored."));
    };
    let Some(endpoint) = store::endpoint(&state.db, delivery.endpoint_id).await? else {
        return Ok(unsent("the endpoint is no longer stored."));
    };
    let key = cipher(&state.settings);
    let Ok(secrets) = secrets_of(&key, &endpoint, time::now()) else {
        return Ok(unsent(
            "the signing secret could not be decrypted (was EMPORIUM_SECRET_KEY changed?); rotate the secret.",
        ));
    };
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let body = EventView::body(&event);
    let message = Message {
        url: &endpoint.url,
        event_id: &event.id,
        event_type: &delivery.event_type,
        body: &body,
    };
    let settings = &state.settings;
    Ok(sender::send(
        &message,
        &secrets,
        &settings.webhook_allow_hosts,
        settings.webhook_delivery.timeout,
    )
    .await)
}

/// A page of an endpoint's deliveries, newest first (404 for no such endpoint).
pub async fn list_deliveries(
    db: &DatabaseConnection,
    endpoint_id: i64,
    status: Option<DeliveryStatus>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<delivery::Model>), ApiError> {
    get_webhook(db, endpoint_id).await?;
    Ok(delivery_store::page(db, endpoint_id, status, offset, limit).await?)
}

/// Sends a delivery again now, whatever its status, and answers with it as stored after.
/// 409 while a worker is sending it; 503 while too many are being sent for staff already.
pub async fn retry_delivery(
    state: &AppState,
    endpoint_id: i64,
    id: i64,
) -> Result<delivery::Model, ApiError> {
    let turn = SENDING_NOW
        .try_acquire()
        .map_err(|_| ApiError::Overloaded)?;
    let now = time::now();
    let delivery = delivery_store::take(&state.db, endpoint_id, id, now, now + lease(state))
        .await?
        .ok_or_else(not_found)?
        .ok_or_else(|| conflict("This delivery is being sent right now; try again in a moment."))?;
    attempt_now(state, delivery, Trigger::Manual, turn).await
}

/// Sends `delivery` and records it in a task of its own, which a client that goes away does
/// not cancel half-way; answers with the delivery as stored after.
async fn attempt_now(
    state: &AppState,
    delivery: delivery::Model,
    trigger: Trigger,
    turn: tokio::sync::SemaphorePermit<'static>,
) -> Result<delivery::Model, ApiError> {
    let state = state.clone();
    tokio::spawn(async move {
        let _turn = turn;
        let attempt = send(&state, &delivery).await?;
        Ok(outcome::record(&state, &delivery, &attempt, trigger).await?)
    })
    .await
    .map_err(internal)?
}

/// Sends a `ping` event to the endpoint now (on or off) and answers with its delivery. A ping
/// is tried once: if it fails it is `failed`, and it counts towards turning the endpoint off.
pub async fn ping(state: &AppState, endpoint_id: i64) -> Result<delivery::Model, ApiError> {
    let turn = SENDING_NOW
        .try_acquire()
        .map_err(|_| ApiError::Overloaded)?;
    let now = time::now();
    let tx = db::begin_write(&state.db).await?;
    let endpoint = store::endpoint_locked(&tx, endpoint_id)
        .await?
        .ok_or_else(not_found)?;
    let data = json!({"webhook_id": endpoint.id});
    let event = events::record_ping(&tx, endpoint.id, data, now).await?;
    let mut row = delivery_store::pending(
        NewDelivery {
            endpoint_id: endpoint.id,
            event_id: event.id,
            event_type: event.event_type.as_str(),
        },
        now,
    );
    // Never due: a ping is tried once, now, and never by the pool.
    row.next_attempt_at = Set(None);
    row.locked_until = Set(Some(now + lease(state)));
    let delivery = delivery_store::insert_one(&tx, row).await?;
    tx.commit().await?;
    attempt_now(state, delivery, Trigger::Ping, turn).await
}
