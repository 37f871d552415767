//! Provider events: verified over the raw body, then applied once each — recorded under a
//! unique `(provider, event_id)` in the transaction of their effect — so ten parallel
//! deliveries of one event change things once; a success for an order cancelled meanwhile is
//! refunded, not lost; refunds made at the provider, and a second capture of an order already
//! paid, go to [`super::provider_refunds`].

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde::Deserialize;
use serde_json::{Value, json};

use super::payment::{self, PaymentState};
use super::provider::Provider;
use super::provider_refunds::{self, Told, capture_of};
use super::refunds::RefundPayment;
use super::signature::{self, SignatureError};
use super::store;
use crate::cache::{Change, ResponseCache};
use crate::events::kind::EventType;
use crate::http::error::{ApiError, bad_request, field_error, not_found};
use crate::jobs::queue;
use crate::orders::{self, PaymentNews};
use crate::{db, time};

/// What applying an event needs: the database, the response cache (a refund that cancels an
/// order gives its stock back), the provider, and the shop's name (staff emails).
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub db: &'a DatabaseConnection,
    pub cache: &'a ResponseCache,
    pub provider: &'a Provider,
    pub shop: &'a str,
}

/// A provider event in Stripe's shape (Razorpay's are read into it).
#[derive(Deserialize)]
pub(super) struct Event {
    pub(super) id: String,
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) data: EventData,
}

/// The event's object.
#[derive(Deserialize)]
pub(super) struct EventData {
    pub(super) object: Value,
}

/// A webhook delivery: the signature checked over the raw `body` first (400 and nothing
/// changes when it does not hold) — Stripe's `Stripe-Signature` (also the dummy's), or
/// Razorpay's `X-Razorpay-Signature` — then the event applied once.
pub async fn receive(ctx: Context<'_>, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let provider = ctx.provider;
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
    apply(ctx, event).await
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
    let refund = value.pointer("/payload/refund/entity");
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
                // Refund events: what this refund is, what is refunded so far, and whether
                // that is all of it.
                "refund_amount": refund.and_then(|r| r.get("amount")),
                "amount_refunded": payment.get("amount_refunded"),
                "refunded": payment.get("refund_status").and_then(Value::as_str).map(|s| s == "full"),
            }),
        },
    })
}

/// Razorpay Checkout's answer in the app: `razorpay_signature` is the HMAC-SHA256 of
/// `"{razorpay_order_id}|{razorpay_payment_id}"` with the key secret. When it holds, the payment
/// is applied as captured through the same code as a webhook (once, whichever comes first).
pub async fn verify_checkout(
    ctx: Context<'_>,
    user_id: i64,
    order_ref: &str,
    payment_ref: &str,
    signature_hex: &str,
) -> Result<payment::Model, ApiError> {
    let (db, provider) = (ctx.db, ctx.provider);
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
        field_error("razorpay_signature", "The signature does not match.")
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
    apply(ctx, event).await?;
    store::payment(db, &payment.id).await?.ok_or_else(not_found)
}

fn intent_ref(event: &Event) -> Option<&str> {
    let object = &event.data.object;
    match event.kind.as_str() {
        "charge.refunded" => object.get("payment_intent").and_then(Value::as_str),
        _ => object.get("id").and_then(Value::as_str),
    }
}

/// Applies `event` once: recorded under its id in the transaction of its effect, so a repeat
/// (or a parallel delivery that committed first) changes nothing.
pub(super) async fn apply(ctx: Context<'_>, event: Event) -> Result<(), ApiError> {
    let (db, provider) = (ctx.db, ctx.provider);
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
    let told = Told {
        event_id: &event.id,
        object: &event.data.object,
    };
    let mut change = Change::new();
    match event.kind.as_str() {
        "payment_intent.succeeded" => succeeded(&tx, told, &payment, now).await?,
        "payment_intent.payment_failed" => {
            let failed = [PaymentState::Pending];
            if store::move_payment(&tx, &payment.id, &failed, PaymentState::Failed, now).await? {
                orders::payment_changed(&tx, &payment.order_id, PaymentNews::Failed, now).await?;
                super::news::record(&tx, EventType::PaymentFailed, &payment.id, now).await?;
            }
        }
        "charge.refunded" => {
            change = provider_refunds::refunded(&tx, told, &payment, ctx.shop, now).await?;
        }
        other => tracing::debug!(kind = other, "event type ignored"),
    }
    ctx.cache.commit(tx, change).await?;
    Ok(())
}

/// A captured payment: paid when its amount and currency are the order's; the order is told,
/// and when it can no longer be paid (cancelled meanwhile) the money goes back.
async fn succeeded(
    tx: &DatabaseTransaction,
    told: Told<'_>,
    payment: &payment::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let object = told.object;
    if !matches!(payment.status, PaymentState::Pending | PaymentState::Failed) {
        return provider_refunds::extra_capture(tx, told, payment, now).await;
    }
    let amount = object.get("amount").and_then(Value::as_i64);
    let currency = object.get("currency").and_then(Value::as_str);
    let matches = amount == Some(payment.amount)
        && currency.is_some_and(|c| c.eq_ignore_ascii_case(&payment.currency));
    if !matches {
        tracing::error!(
            event = %told.event_id, payment = %payment.id, order = %payment.order_id,
            expected = payment.amount, ?amount, ?currency,
            "a payment's amount does not match its order: not marked paid; staff must look"
        );
        return Ok(());
    }
    let from = [PaymentState::Pending, PaymentState::Failed];
    if !store::move_payment(tx, &payment.id, &from, PaymentState::Paid, now).await? {
        // Paid by a parallel event a moment ago: this may be another capture.
        return provider_refunds::extra_capture(tx, told, payment, now).await;
    }
    if let Some(captured) = capture_of(object) {
        store::set_captured(tx, &payment.id, captured).await?;
    }
    if !orders::payment_changed(tx, &payment.order_id, PaymentNews::Paid, now).await? {
        // The order was cancelled meanwhile: the money goes back.
        tracing::warn!(order = %payment.order_id, "payment for a cancelled order: refunding");
        let refund = RefundPayment {
            payment_id: payment.id.clone(),
        };
        queue::enqueue(tx, &refund).await?;
    }
    Ok(())
}
