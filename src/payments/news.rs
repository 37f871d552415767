//! The events of a payment — `payment.failed`, `payment.refunded` — recorded in the transaction
//! that moved it. Their data is the payment as staff see it, without the client secret the
//! app's payment sheet uses (an event goes to other systems).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde::Serialize;

use super::payment::{self, PaymentState};
use crate::events::kind::EventType;
use crate::events::service::{self as events, NewEvent, Resource};
use crate::money::{Currency, Money};

/// A payment in an event.
#[derive(Debug, Serialize)]
struct PaymentData {
    payment_id: String,
    order_id: String,
    provider: String,
    amount: String,
    currency: String,
    status: PaymentState,
    #[serde(serialize_with = "crate::time::serialize")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    updated_at: DateTime<Utc>,
}

/// Records `event_type` for payment `id` as it now stands in `conn`'s transaction.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    event_type: EventType,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(p) = payment::Entity::find_by_id(id.to_owned()).one(conn).await? else {
        return Ok(());
    };
    let currency = Currency::from_code(&p.currency).unwrap_or(Currency::USD);
    let data = PaymentData {
        payment_id: p.id.clone(),
        order_id: p.order_id,
        provider: p.provider,
        amount: Money::from_minor(p.amount).format(currency),
        currency: p.currency,
        status: p.status,
        created_at: p.created_at,
        updated_at: p.updated_at,
    };
    let event = NewEvent::of(event_type, Resource::Payment(p.id), &data)?;
    events::record(conn, vec![event], now).await
}
