//! The payments' queries: one payment per order, events recorded once, statuses moved by
//! conditional updates.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

use super::payment::{self, PaymentState};
use super::payment_refund::{self, RefundKind};
use super::{payment_claim, payment_event};
use crate::db::tally::{self, Change};

/// The payment of an order.
pub async fn of_order<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
) -> Result<Option<payment::Model>, DbErr> {
    payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .one(conn)
        .await
}

/// One payment.
pub async fn payment<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<payment::Model>, DbErr> {
    payment::Entity::find_by_id(id.to_owned()).one(conn).await
}

/// The payment a provider knows as `provider_ref`.
pub async fn by_ref<C: ConnectionTrait>(
    conn: &C,
    provider: &str,
    provider_ref: &str,
) -> Result<Option<payment::Model>, DbErr> {
    payment::Entity::find()
        .filter(payment::Column::Provider.eq(provider))
        .filter(payment::Column::ProviderRef.eq(provider_ref))
        .one(conn)
        .await
}

/// Inserts a payment (a unique violation: the order has one already).
pub async fn insert<C: ConnectionTrait>(conn: &C, row: &payment::Model) -> Result<(), DbErr> {
    let active = payment::ActiveModel {
        id: Set(row.id.clone()),
        order_id: Set(row.order_id.clone()),
        user_id: Set(row.user_id),
        provider: Set(row.provider.clone()),
        provider_ref: Set(row.provider_ref.clone()),
        captured_ref: Set(row.captured_ref.clone()),
        client_secret: Set(row.client_secret.clone()),
        amount: Set(row.amount),
        currency: Set(row.currency.clone()),
        status: Set(row.status),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    };
    payment::Entity::insert(active)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// An event id as stored: ids longer than the column are kept as a digest (still one per
/// event).
pub fn event_key(event_id: &str) -> String {
    if event_id.len() > 100 {
        use sha2::{Digest, Sha256};
        let digest: String = Sha256::digest(event_id.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{digest}")
    } else {
        event_id.to_owned()
    }
}

/// Records an event as applied; a unique violation means it was already.
pub async fn record_event<C: ConnectionTrait>(
    conn: &C,
    provider: &str,
    event_id: &str,
    event_type: &str,
    payment_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = payment_event::ActiveModel {
        provider: Set(provider.to_owned()),
        event_id: Set(event_key(event_id)),
        event_type: Set(event_type.chars().take(100).collect()),
        payment_id: Set(payment_id.map(str::to_owned)),
        received_at: Set(now),
        ..Default::default()
    };
    payment_event::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Moves a payment to `to` if it is in one of `from`; `false` otherwise.
pub async fn move_payment<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    from: &[PaymentState],
    to: PaymentState,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(payment::Entity::update_many()
        .col_expr(payment::Column::Status, Expr::value(to))
        .col_expr(payment::Column::UpdatedAt, Expr::value(now))
        .filter(payment::Column::Id.eq(id))
        .filter(payment::Column::Status.is_in(from.iter().copied()))
        .exec(conn)
        .await?
        .rows_affected
        == 1)
}

/// Records the provider's id of the captured payment.
pub async fn set_captured<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    captured_ref: &str,
) -> Result<(), DbErr> {
    payment::Entity::update_many()
        .col_expr(payment::Column::CapturedRef, Expr::value(captured_ref))
        .filter(payment::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Claims order `order_id` for the request `token` (a unique violation: another holds it).
pub async fn insert_claim<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = payment_claim::ActiveModel {
        order_id: Set(order_id.to_owned()),
        token: Set(token.to_owned()),
        claimed_at: Set(now),
    };
    payment_claim::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The claim on an order, if any.
pub async fn claim_of<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
) -> Result<Option<payment_claim::Model>, DbErr> {
    payment_claim::Entity::find_by_id(order_id.to_owned())
        .one(conn)
        .await
}

/// Hands the claim held by `old` to `new` — one conditional update, so of two requests taking
/// over one abandoned claim exactly one does. `false`: it was not `old`'s any more.
pub async fn take_over_claim<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    old: &str,
    new: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(payment_claim::Entity::update_many()
        .col_expr(payment_claim::Column::Token, Expr::value(new))
        .col_expr(payment_claim::Column::ClaimedAt, Expr::value(now))
        .filter(payment_claim::Column::OrderId.eq(order_id))
        .filter(payment_claim::Column::Token.eq(old))
        .exec(conn)
        .await?
        .rows_affected
        == 1)
}

/// Releases `token`'s claim on an order (nothing if it was taken over meanwhile).
pub async fn release_claim<C: ConnectionTrait>(
    conn: &C,
    order_id: &str,
    token: &str,
) -> Result<(), DbErr> {
    payment_claim::Entity::delete_many()
        .filter(payment_claim::Column::OrderId.eq(order_id))
        .filter(payment_claim::Column::Token.eq(token))
        .exec(conn)
        .await?;
    Ok(())
}

/// A refund to record.
#[derive(Clone, Debug)]
pub struct NewRefund<'a> {
    pub payment_id: &'a str,
    pub event_id: &'a str,
    /// The capture given back, when not the payment's own.
    pub captured_ref: Option<&'a str>,
    pub kind: RefundKind,
    pub amount: i64,
}

/// Records a refund (a unique violation: that extra capture is recorded already), and adds it
/// to the refunds' tally ([`crate::db::tally::REFUNDS`]) in the same transaction.
pub async fn insert_refund<C: ConnectionTrait>(
    conn: &C,
    refund: &NewRefund<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = payment_refund::ActiveModel {
        payment_id: Set(refund.payment_id.to_owned()),
        provider_event_id: Set(event_key(refund.event_id)),
        captured_ref: Set(refund.captured_ref.map(str::to_owned)),
        kind: Set(refund.kind),
        amount: Set(refund.amount),
        created_at: Set(now),
        ..Default::default()
    };
    payment_refund::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    if refund.kind == RefundKind::ExtraCapture {
        // Money no order counted as paid: not taken off the revenue.
        return Ok(());
    }
    let tallied = Change {
        name: tally::REFUNDS.to_owned(),
        key: tally::slot(now),
        n: 1,
        amount: refund.amount,
    };
    tally::add(conn, tally::shard(refund.payment_id), vec![tallied]).await
}

/// What has been given back of a payment's own capture so far (extra captures aside).
pub async fn refunded_so_far<C: ConnectionTrait>(conn: &C, payment_id: &str) -> Result<i64, DbErr> {
    Ok(payment_refund::Entity::find()
        .filter(payment_refund::Column::PaymentId.eq(payment_id))
        .filter(payment_refund::Column::CapturedRef.is_null())
        .all(conn)
        .await?
        .iter()
        .map(|r| r.amount)
        .sum())
}
