//! Payment rules: an intent per order, its amount from the order; provider events verified over
//! the raw body, then applied once each — recorded under a unique `(provider, event_id)` in the
//! transaction of their effect — so ten parallel deliveries of one event change things once;
//! a success for an order cancelled meanwhile is refunded, not lost.

use axum::http::HeaderMap;
use chrono::Utc;
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};

use super::provider::{Provider, ProviderError};
use super::signature::{self, SignatureError};
use super::{payment, store};
use crate::http::error::{ApiError, bad_request, conflict, not_found};
use crate::jobs::queue::{self, NewJob};
use crate::jobs::{self, JobContext, JobError};
use crate::orders::lifecycle::{PaymentStatus, Status};
use crate::orders::store as orders;
use crate::{db, time};

/// Where a payment is.
pub mod status {
    pub const PENDING: &str = "PENDING";
    pub const PAID: &str = "PAID";
    pub const FAILED: &str = "FAILED";
    pub const REFUNDED: &str = "REFUNDED";
}

/// The job that refunds a payment in full through its provider.
pub const REFUND_JOB: &str = "payments.refund";

/// The [`REFUND_JOB`] for a payment.
pub fn refund_job(payment_id: &str) -> NewJob {
    NewJob::new(REFUND_JOB, json!({ "payment_id": payment_id }))
}

/// A provider failure as the client sees it: unavailable → 503 (try again: the retry gets the
/// same intent); refused → 409 with the provider's reason.
fn provider_error(error: ProviderError) -> ApiError {
    match error {
        ProviderError::Unavailable(cause) => ApiError::Unavailable(cause),
        ProviderError::Refused(reason) => {
            tracing::error!(%reason, "the payment provider refused a request");
            conflict(format!("The payment provider refused: {reason}"))
        }
    }
}

/// The job that asks the provider about a payment no webhook has settled.
pub const VERIFY_JOB: &str = "payments.verify";

/// How long after an intent is made its verification first runs; the queue's backoff spaces the
/// later attempts, and after [`VERIFY_ATTEMPTS`] it is left to staff (the job goes `dead`).
pub const VERIFY_AFTER: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Attempts of a verification.
pub const VERIFY_ATTEMPTS: i32 = 6;

fn verify_job(payment_id: &str, now: chrono::DateTime<Utc>) -> NewJob {
    NewJob {
        run_at: Some(now + chrono::Duration::from_std(VERIFY_AFTER).unwrap_or_default()),
        max_attempts: VERIFY_ATTEMPTS,
        ..NewJob::new(VERIFY_JOB, json!({ "payment_id": payment_id }))
    }
}

/// The order's payment intent: made once per order (a second call, or a retry after a
/// timeout, gets the same one). The amount and currency are the order's. A paid or cancelled
/// order → 409; another user's → 404.
pub async fn create_intent(
    db: &DatabaseConnection,
    provider: &Provider,
    user_id: i64,
    order_id: &str,
) -> Result<payment::Model, ApiError> {
    let order = orders::order(db, order_id)
        .await?
        .filter(|o| o.user_id == user_id)
        .ok_or_else(not_found)?;
    if order.status != Status::Pending.as_str()
        || order.payment_status == PaymentStatus::Paid.as_str()
    {
        return Err(conflict(format!(
            "An order that is {} cannot be paid.",
            order.status
        )));
    }
    if let Some(existing) = store::of_order(db, order_id).await? {
        return Ok(existing);
    }
    let intent = provider
        .create_intent(
            order_id,
            order.total_amount,
            &order.currency,
            &format!("emporium-order-{order_id}"),
        )
        .await
        .map_err(provider_error)?;
    let now = time::now();
    let row = payment::Model {
        id: uuid::Uuid::new_v4().to_string(),
        order_id: order.id.clone(),
        user_id,
        provider: provider.name().to_owned(),
        provider_ref: intent.provider_ref,
        captured_ref: None,
        client_secret: intent.client_secret,
        amount: order.total_amount,
        currency: order.currency.clone(),
        status: status::PENDING.to_owned(),
        created_at: now,
        updated_at: now,
    };
    let tx = db::begin_write(db).await?;
    match store::insert(&tx, &row).await {
        Ok(()) => {
            store::mark_order(&tx, order_id, PaymentStatus::Pending.as_str(), None, now).await?;
            if provider.name() != "dummy" {
                // Asks the provider later if no webhook has settled it by then.
                queue::enqueue(&tx, verify_job(&row.id, now)).await?;
            }
            tx.commit().await?;
            Ok(row)
        }
        // A parallel request made it first: that one is the intent.
        Err(e) if db::is_unique_violation(&e) => {
            drop(tx);
            store::of_order(db, order_id).await?.ok_or_else(not_found)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Value,
}

/// A webhook delivery: the signature checked over the raw `body` first (400 and nothing
/// changes when it does not hold) — Stripe's `Stripe-Signature` (also the dummy's), or
/// Razorpay's `X-Razorpay-Signature` — then the event applied once.
pub async fn receive(
    db: &DatabaseConnection,
    provider: &Provider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let refused = |e: SignatureError| {
        tracing::warn!(provider = provider.name(), error = %e, "webhook refused");
        bad_request(format!("Invalid signature: {e}."))
    };
    let event = match provider {
        Provider::Razorpay(_) => {
            signature::verify_razorpay(
                provider.webhook_secret(),
                header("x-razorpay-signature"),
                body,
            )
            .map_err(refused)?;
            razorpay_event(header("x-razorpay-event-id"), body)?
        }
        _ => {
            signature::verify(
                provider.webhook_secret(),
                header("stripe-signature"),
                body,
                Utc::now().timestamp(),
            )
            .map_err(refused)?;
            serde_json::from_slice(body)
                .map_err(|e| bad_request(format!("The event cannot be read: {e}")))?
        }
    };
    apply(db, provider, event).await
}

/// A Razorpay webhook in the shape [`apply`] reads: its payment events named as Stripe's, the
/// intent being Razorpay's order, and the captured payment's id kept for refunds. Its event id
/// is the `X-Razorpay-Event-Id` header (else a digest of the body).
fn razorpay_event(event_id: Option<&str>, body: &[u8]) -> Result<Event, ApiError> {
    use sha2::{Digest, Sha256};
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("The event cannot be read: {e}")))?;
    let name = value
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let payment = value
        .pointer("/payload/payment/entity")
        .cloned()
        .unwrap_or(Value::Null);
    let order_ref = payment.get("order_id").and_then(Value::as_str).or_else(|| {
        value
            .pointer("/payload/order/entity/id")
            .and_then(Value::as_str)
    });
    let kind = match name {
        "payment.captured" | "order.paid" => "payment_intent.succeeded",
        "payment.failed" => "payment_intent.payment_failed",
        "refund.processed" | "payment.refunded" => "charge.refunded",
        other => other,
    };
    let id = match event_id {
        Some(id) => id.to_owned(),
        None => Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    };
    Ok(Event {
        id: format!("rzp_{id}"),
        kind: kind.to_owned(),
        data: EventData {
            object: json!({
                "id": order_ref,
                "payment_intent": order_ref,
                "amount": payment.get("amount"),
                "currency": payment.get("currency"),
                "captured": payment.get("id"),
            }),
        },
    })
}

/// Razorpay Checkout's answer in the app: `razorpay_signature` is the HMAC-SHA256 of
/// `"{razorpay_order_id}|{razorpay_payment_id}"` with the key secret. When it holds, the payment
/// is applied as captured through the same code as a webhook (once, whichever comes first).
pub async fn verify_checkout(
    db: &DatabaseConnection,
    provider: &Provider,
    user_id: i64,
    order_ref: &str,
    payment_ref: &str,
    signature_hex: &str,
) -> Result<payment::Model, ApiError> {
    let Provider::Razorpay(razorpay) = provider else {
        return Err(not_found());
    };
    let payment = store::by_ref(db, provider.name(), order_ref)
        .await?
        .filter(|p| p.user_id == user_id)
        .ok_or_else(not_found)?;
    signature::verify_razorpay(
        razorpay.key_secret.expose(),
        Some(signature_hex),
        format!("{order_ref}|{payment_ref}").as_bytes(),
    )
    .map_err(|e| {
        tracing::warn!(payment = %payment.id, error = %e, "Razorpay Checkout signature refused");
        crate::http::error::field_error("razorpay_signature", "The signature does not match.")
    })?;
    let event = Event {
        id: format!("rzp_checkout_{payment_ref}"),
        kind: "payment_intent.succeeded".to_owned(),
        data: EventData {
            object: json!({
                "id": order_ref,
                "amount": payment.amount,
                "currency": payment.currency,
                "captured": payment_ref,
            }),
        },
    };
    apply(db, provider, event).await?;
    store::payment(db, &payment.id).await?.ok_or_else(not_found)
}

fn intent_ref(event: &Event) -> Option<&str> {
    let object = &event.data.object;
    match event.kind.as_str() {
        "charge.refunded" => object.get("payment_intent").and_then(Value::as_str),
        _ => object.get("id").and_then(Value::as_str),
    }
}

async fn apply(db: &DatabaseConnection, provider: &Provider, event: Event) -> Result<(), ApiError> {
    let Some(reference) = intent_ref(&event) else {
        tracing::info!(event = %event.id, kind = %event.kind, "event without an intent, ignored");
        return Ok(());
    };
    let Some(payment) = store::by_ref(db, provider.name(), reference).await? else {
        tracing::warn!(event = %event.id, intent = %reference, "event for an unknown intent, ignored");
        return Ok(());
    };
    let now = time::now();
    let tx = db.begin().await?;
    match store::record_event(
        &tx,
        provider.name(),
        &event.id,
        &event.kind,
        Some(&payment.id),
        now,
    )
    .await
    {
        Ok(()) => {}
        // Applied already (a repeat, or a parallel delivery that committed first).
        Err(e) if db::is_unique_violation(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    match event.kind.as_str() {
        "payment_intent.succeeded" => {
            let object = &event.data.object;
            let amount = object.get("amount").and_then(Value::as_i64);
            let currency = object.get("currency").and_then(Value::as_str);
            let matches = amount == Some(payment.amount)
                && currency.is_some_and(|c| c.eq_ignore_ascii_case(&payment.currency));
            if !matches {
                tracing::error!(
                    event = %event.id, payment = %payment.id, order = %payment.order_id,
                    expected = payment.amount, ?amount, ?currency,
                    "a payment's amount does not match its order: not marked paid; staff must look"
                );
            } else if store::move_payment(
                &tx,
                &payment.id,
                &[status::PENDING, status::FAILED],
                status::PAID,
                now,
            )
            .await?
            {
                if let Some(captured) = object.get("captured").and_then(Value::as_str) {
                    store::set_captured(&tx, &payment.id, captured).await?;
                }
                let paid = store::mark_order(
                    &tx,
                    &payment.order_id,
                    PaymentStatus::Paid.as_str(),
                    Some((Status::Pending.as_str(), Status::Paid.as_str())),
                    now,
                )
                .await?;
                if paid {
                    queue::enqueue(&tx, crate::orders::invoice::invoice_job(&payment.order_id))
                        .await?;
                } else {
                    // The order was cancelled meanwhile: the money goes back.
                    tracing::warn!(order = %payment.order_id, "payment for a cancelled order: refunding");
                    store::mark_order(
                        &tx,
                        &payment.order_id,
                        PaymentStatus::Paid.as_str(),
                        None,
                        now,
                    )
                    .await?;
                    queue::enqueue(&tx, refund_job(&payment.id)).await?;
                }
            }
        }
        "payment_intent.payment_failed" => {
            if store::move_payment(&tx, &payment.id, &[status::PENDING], status::FAILED, now)
                .await?
            {
                store::mark_order(
                    &tx,
                    &payment.order_id,
                    PaymentStatus::Failed.as_str(),
                    None,
                    now,
                )
                .await?;
            }
        }
        "charge.refunded" => {
            // Stripe says `refunded: false` for a partial refund: the payment stays paid.
            let partial = event.data.object.get("refunded").and_then(Value::as_bool) == Some(false);
            if partial {
                tracing::warn!(event = %event.id, payment = %payment.id, "a partial refund: staff must look");
            } else {
                mark_refunded(&tx, &payment, now).await?;
            }
        }
        other => tracing::debug!(kind = other, "event type ignored"),
    }
    tx.commit().await?;
    Ok(())
}

/// The dummy provider's confirmation: the intent's owner succeeds or fails it, and the outcome
/// arrives as a webhook signed like the provider's, through [`receive`].
pub async fn confirm_dummy(
    db: &DatabaseConnection,
    provider: &Provider,
    user_id: i64,
    payment_id: &str,
    succeeded: bool,
) -> Result<payment::Model, ApiError> {
    let payment = store::payment(db, payment_id)
        .await?
        .filter(|p| p.user_id == user_id && p.provider == "dummy" && provider.name() == "dummy")
        .ok_or_else(not_found)?;
    let kind = if succeeded {
        "payment_intent.succeeded"
    } else {
        "payment_intent.payment_failed"
    };
    let event = json!({
        "id": format!("evt_dummy_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "type": kind,
        "data": {"object": {
            "id": payment.provider_ref,
            "object": "payment_intent",
            "amount": payment.amount,
            "currency": payment.currency.to_lowercase(),
            "metadata": {"order_id": payment.order_id},
        }},
    });
    let body = serde_json::to_vec(&event).map_err(crate::http::error::internal)?;
    let header = signature::sign(provider.webhook_secret(), Utc::now().timestamp(), &body);
    let mut headers = HeaderMap::new();
    headers.insert(
        "stripe-signature",
        header.parse().map_err(crate::http::error::internal)?,
    );
    receive(db, provider, &headers, &body).await?;
    store::payment(db, payment_id).await?.ok_or_else(not_found)
}

#[derive(Deserialize)]
struct PaymentPayload {
    payment_id: String,
}

/// The payment a job's payload names, if it is still `status` (else the job has nothing to do).
async fn payment_still(
    db: &DatabaseConnection,
    payload: Value,
    status: &str,
) -> Result<Option<payment::Model>, JobError> {
    let PaymentPayload { payment_id } = jobs::payload(payload)?;
    Ok(store::payment(db, &payment_id)
        .await?
        .filter(|p| p.status == status))
}

/// Marks a paid payment and its order `REFUNDED` (the provider confirmed).
async fn mark_refunded<C: sea_orm::ConnectionTrait>(
    conn: &C,
    payment: &payment::Model,
    now: chrono::DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if store::move_payment(conn, &payment.id, &[status::PAID], status::REFUNDED, now).await? {
        store::mark_order(
            conn,
            &payment.order_id,
            PaymentStatus::Refunded.as_str(),
            None,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Refunds a paid payment in full through its provider (safe to run twice: only a `PAID`
/// payment is refunded, and the provider gets the payment's id as its idempotency key).
pub async fn refund(ctx: JobContext, payload: Value) -> Result<(), JobError> {
    let db = &ctx.state.db;
    let Some(payment) = payment_still(db, payload, status::PAID).await? else {
        return Ok(());
    };
    let provider = Provider::from_settings(&ctx.state.settings);
    provider
        .refund(&payment, &format!("emporium-refund-{}", payment.id))
        .await
        .map_err(|e| match e {
            ProviderError::Unavailable(_) => JobError::retry(e),
            // Refused: retrying will not help; the job stays dead for staff to look at.
            ProviderError::Refused(_) => JobError::Permanent(e.to_string()),
        })?;
    // The dummy confirms at once; a real provider confirms with its `charge.refunded` event.
    if provider.name() == "dummy" {
        mark_refunded(db, &payment, time::now()).await?;
    }
    Ok(())
}

/// Asks the provider where a payment still `PENDING` stands, and applies the answer through the
/// same code as the webhook (as an event of its own, so it too applies once). Still in progress
/// → tried again later (the queue's backoff); a payment settled meanwhile → nothing to do.
pub async fn verify(ctx: JobContext, payload: Value) -> Result<(), JobError> {
    let db = &ctx.state.db;
    let Some(payment) = payment_still(db, payload, status::PENDING).await? else {
        return Ok(());
    };
    let provider = Provider::from_settings(&ctx.state.settings);
    if provider.name() != payment.provider {
        return Err(JobError::Permanent(format!(
            "payment {} is with {}, not the configured provider",
            payment.id, payment.provider
        )));
    }
    let Some(state) = provider
        .intent_state(&payment.provider_ref)
        .await
        .map_err(JobError::retry)?
    else {
        return Ok(());
    };
    let kind = match state.status.as_str() {
        "succeeded" => "payment_intent.succeeded",
        "canceled" => "payment_intent.payment_failed",
        other => return Err(JobError::retry(format!("the payment is still {other}"))),
    };
    let event = Event {
        id: format!("verify_{}_{}", payment.id, state.status),
        kind: kind.to_owned(),
        data: EventData {
            object: json!({
                "id": payment.provider_ref,
                "amount": state.amount,
                "currency": state.currency,
            }),
        },
    };
    apply(db, &provider, event)
        .await
        .map_err(|e| JobError::retry(e.to_string()))
}
