//! Payment intents: one per order, for the order's amount (never the client's), made once — a
//! second call, or a retry after a timeout, gets the same one, and parallel calls ask the
//! provider once (the order is claimed first) — and the offline provider's confirmation, which
//! arrives as a signed webhook like a real provider's.

use std::time::Duration;

use axum::http::HeaderMap;
use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde_json::json;
use tokio::time::Instant;

use super::events;
use super::payment::{self, PaymentState};
use super::provider::{Provider, ProviderError};
use super::verify::VerifyPayment;
use super::{signature, store};
use crate::http::error::{ApiError, conflict, internal, not_found};
use crate::jobs::queue::{self, NewJob};
use crate::orders::{self, PaymentNews};
use crate::{db, time};

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

/// How long a claim may stand before another request takes it over: its holder has been
/// waiting on the provider longer than a call to it may take (`EMPORIUM_OUTGOING_TIMEOUT`), so
/// it crashed or was cut off.
pub fn claim_ttl(provider: &Provider) -> Duration {
    provider.call_timeout() + Duration::from_secs(5)
}

/// How long a request that lost the claim waits for the winner's intent before it answers
/// `503` with `Retry-After` (a retry then gets the intent).
pub const CLAIM_WAIT: Duration = Duration::from_secs(3);

/// How often a waiting request looks again.
const CLAIM_POLL: Duration = Duration::from_millis(50);

/// The order's payment intent: made once per order (a second call, or a retry after a
/// timeout, gets the same one). The amount and currency are the order's. A paid or cancelled
/// order → 409; another user's → 404.
///
/// However many calls arrive at once, the provider is asked once: a call first claims the
/// order (one `payment_claims` row per order: the database decides), and only the claim's
/// holder asks. The others wait for its intent — up to [`CLAIM_WAIT`], then `503` with
/// `Retry-After` — or take the claim over when its holder gave up (its call failed: the claim
/// is released) or died (the claim is older than [`claim_ttl`]).
pub async fn create_intent(
    db: &DatabaseConnection,
    provider: &Provider,
    user_id: i64,
    order_id: &str,
) -> Result<payment::Model, ApiError> {
    let order = orders::payable(db, order_id, user_id).await?;
    let deadline = Instant::now() + CLAIM_WAIT;
    loop {
        if let Some(existing) = store::of_order(db, order_id).await? {
            return Ok(existing);
        }
        if let Some(token) = claim(db, provider, order_id).await? {
            // A holder that finished between the look above and this claim committed its
            // intent with its claim's release: look once more before asking.
            if let Some(existing) = store::of_order(db, order_id).await? {
                store::release_claim(db, order_id, &token).await?;
                return Ok(existing);
            }
            return ask_provider(db, provider, user_id, &order, &token).await;
        }
        if Instant::now() >= deadline {
            tracing::info!(order = %order_id, "an intent is being made by another request");
            return Err(ApiError::Overloaded);
        }
        tokio::time::sleep(CLAIM_POLL).await;
    }
}

/// Claims the order for this request: `Some(token)` when it is ours (new, or taken over from a
/// holder older than [`claim_ttl`]), `None` while another request holds it.
async fn claim(
    db: &DatabaseConnection,
    provider: &Provider,
    order_id: &str,
) -> Result<Option<String>, ApiError> {
    let token = uuid::Uuid::new_v4().to_string();
    let now = time::now();
    match store::insert_claim(db, order_id, &token, now).await {
        Ok(()) => return Ok(Some(token)),
        Err(e) if db::is_unique_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    let Some(held) = store::claim_of(db, order_id).await? else {
        // Released meanwhile: the next look finds the intent, or claims it.
        return Ok(None);
    };
    let ttl = chrono::Duration::from_std(claim_ttl(provider)).unwrap_or_default();
    let stale = now - held.claimed_at > ttl;
    if stale && store::take_over_claim(db, order_id, &held.token, &token, now).await? {
        tracing::warn!(order = %order_id, since = %held.claimed_at, "an abandoned payment claim taken over");
        return Ok(Some(token));
    }
    Ok(None)
}

/// The claim's holder asks the provider, then stores the intent and drops the claim in one
/// transaction; a failed call drops the claim, so the next call asks again.
async fn ask_provider(
    db: &DatabaseConnection,
    provider: &Provider,
    user_id: i64,
    order: &orders::Payable,
    token: &str,
) -> Result<payment::Model, ApiError> {
    let order_id = order.id.as_str();
    let asked = provider
        .create_intent(
            order_id,
            order.amount,
            &order.currency,
            &format!("emporium-order-{order_id}"),
        )
        .await;
    let intent = match asked {
        Ok(intent) => intent,
        Err(e) => {
            store::release_claim(db, order_id, token).await?;
            return Err(provider_error(e));
        }
    };
    let now = time::now();
    let row = payment::Model {
        id: uuid::Uuid::new_v4().to_string(),
        order_id: order.id.clone(),
        user_id,
        provider: provider.name().to_owned(),
        provider_ref: intent.provider_ref,
        captured_ref: None,
        client_secret: intent.client_secret,
        amount: order.amount,
        currency: order.currency.clone(),
        status: PaymentState::Pending,
        created_at: now,
        updated_at: now,
    };
    let tx = db::begin_write(db).await?;
    match store::insert(&tx, &row).await {
        Ok(()) => {
            orders::payment_changed(&tx, order_id, PaymentNews::Started, now).await?;
            if provider.name() != "dummy" {
                // Asks the provider later if no webhook has settled it by then.
                let verify = VerifyPayment {
                    payment_id: row.id.clone(),
                };
                queue::insert(&tx, NewJob::of(&verify)?.at(VerifyPayment::due(now))).await?;
            }
            store::release_claim(&tx, order_id, token).await?;
            tx.commit().await?;
            Ok(row)
        }
        // A holder whose claim was taken over finished after all: that one is the intent.
        Err(e) if db::is_unique_violation(&e) => {
            drop(tx);
            store::release_claim(db, order_id, token).await?;
            store::of_order(db, order_id).await?.ok_or_else(not_found)
        }
        Err(e) => Err(e.into()),
    }
}

/// The dummy provider's confirmation: the intent's owner succeeds or fails it, and the outcome
/// arrives as a webhook signed like the provider's, through [`events::receive`].
pub async fn confirm_dummy(
    ctx: events::Context<'_>,
    user_id: i64,
    payment_id: &str,
    succeeded: bool,
) -> Result<payment::Model, ApiError> {
    let (db, provider) = (ctx.db, ctx.provider);
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
    let body = serde_json::to_vec(&event).map_err(internal)?;
    let header = signature::sign(provider.webhook_secret(), Utc::now().timestamp(), &body);
    let mut headers = HeaderMap::new();
    headers.insert("stripe-signature", header.parse().map_err(internal)?);
    events::receive(ctx, &headers, &body).await?;
    store::payment(db, payment_id).await?.ok_or_else(not_found)
}
