//! Payment intents: one per order, for the order's amount (never the client's), made once — a
//! second call, or a retry after a timeout, gets the same one — and the offline provider's
//! confirmation, which arrives as a signed webhook like a real provider's.

use axum::http::HeaderMap;
use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde_json::json;

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

/// The order's payment intent: made once per order (a second call, or a retry after a
/// timeout, gets the same one). The amount and currency are the order's. A paid or cancelled
/// order → 409; another user's → 404.
pub async fn create_intent(
    db: &DatabaseConnection,
    provider: &Provider,
    user_id: i64,
    order_id: &str,
) -> Result<payment::Model, ApiError> {
    let order = orders::payable(db, order_id, user_id).await?;
    if let Some(existing) = store::of_order(db, order_id).await? {
        return Ok(existing);
    }
    let intent = provider
        .create_intent(
            order_id,
            order.amount,
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

/// The dummy provider's confirmation: the intent's owner succeeds or fails it, and the outcome
/// arrives as a webhook signed like the provider's, through [`events::receive`].
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
    let body = serde_json::to_vec(&event).map_err(internal)?;
    let header = signature::sign(provider.webhook_secret(), Utc::now().timestamp(), &body);
    let mut headers = HeaderMap::new();
    headers.insert("stripe-signature", header.parse().map_err(internal)?);
    events::receive(db, provider, &headers, &body).await?;
    store::payment(db, payment_id).await?.ok_or_else(not_found)
}
