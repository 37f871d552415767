//! The deliveries' queries: making them from events, claiming due ones under a lease with at
//! most so many in flight per endpoint, recording attempts, and the staff log.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::delivery::{self, DeliveryStatus};
use super::endpoint;
use crate::db;

/// A delivery to make: one event to one endpoint.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub endpoint_id: i64,
    pub event_id: String,
    pub event_type: String,
}

/// Rows per insert statement: 12 parameters each, well under every engine's cap.
const INSERT_CHUNK: usize = 500;

/// Inserts a pending delivery, due at `now`, for each of `wanted` not already stored.
pub async fn insert_new<C: ConnectionTrait>(
    conn: &C,
    wanted: Vec<NewDelivery>,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    if wanted.is_empty() {
        return Ok(0);
    }
    let event_ids: HashSet<&str> = wanted.iter().map(|d| d.event_id.as_str()).collect();
    let existing: HashSet<(i64, String)> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::EndpointId)
        .column(delivery::Column::EventId)
        .filter(delivery::Column::EventId.is_in(event_ids))
        .into_tuple::<(i64, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let fresh: Vec<delivery::ActiveModel> = wanted
        .into_iter()
        .filter(|d| !existing.contains(&(d.endpoint_id, d.event_id.clone())))
        .map(|d| pending(d, now))
        .collect();
    let count = fresh.len();
    // In chunks: every column is a bound parameter, and engines cap them (SQLite at 32,766).
    let mut rows = fresh.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<delivery::ActiveModel> = rows.by_ref().take(INSERT_CHUNK).collect();
        delivery::Entity::insert_many(chunk)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(count)
}

/// A new pending delivery, due at `now`, held until `locked_until` when given.
pub fn pending(wanted: NewDelivery, now: DateTime<Utc>) -> delivery::ActiveModel {
    delivery::ActiveModel {
        endpoint_id: Set(wanted.endpoint_id),
        event_id: Set(wanted.event_id),
        event_type: Set(wanted.event_type),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        last_status_code: Set(None),
        last_error: Set(None),
        duration_ms: Set(None),
        next_attempt_at: Set(Some(now)),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

/// Inserts one delivery.
pub async fn insert_one<C: ConnectionTrait>(
    conn: &C,
    row: delivery::ActiveModel,
) -> Result<delivery::Model, DbErr> {
    row.insert(conn).await
}

/// Due: pending, its time come, no live lease, and its endpoint active.
fn due(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .add(delivery::Column::NextAttemptAt.lte(now))
        .add(
            Condition::any()
                .add(delivery::Column::LockedUntil.is_null())
                .add(delivery::Column::LockedUntil.lt(now)),
        )
        .add(delivery::Column::EndpointId.in_subquery(active_endpoints()))
}

/// `SELECT id FROM webhook_endpoints WHERE is_active`.
fn active_endpoints() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(endpoint::Column::Id)
        .from(endpoint::Entity)
        .and_where(endpoint::Column::IsActive.eq(true))
        .to_owned()
}

/// Claims up to `limit` due deliveries, at most `per_endpoint` in flight per endpoint over
/// every worker, endpoints with the longest-waiting delivery first, each under a lease until
/// `until`. Counts are read under the endpoints' row locks, so two claimers of one endpoint
/// take turns.
pub async fn claim_due(
    db: &sea_orm::DatabaseConnection,
    limit: usize,
    per_endpoint: usize,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<delivery::Model>, DbErr> {
    // A plain read first: an idle shop takes no write lock (SQLite has one for everyone).
    if !any_due(db, now).await? {
        return Ok(Vec::new());
    }
    let tx = db::begin_write(db).await?;
    let full = at_limit(&tx, per_endpoint, now).await?;
    let waiting: Vec<i64> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::EndpointId)
        .filter(due(now))
        .filter(delivery::Column::EndpointId.is_not_in(full))
        .group_by(delivery::Column::EndpointId)
        .order_by_asc(delivery::Column::NextAttemptAt.min())
        .limit(limit as u64)
        .into_tuple::<i64>()
        .all(&tx)
        .await?;
    if waiting.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    // In id order, as the dispatcher's inserts take their foreign-key locks, so no two
    // transactions wait for each other's locks in a circle. On PostgreSQL a lock that does not
    // conflict with those key-share locks.
    let lock = match tx.get_database_backend() {
        DbBackend::Postgres => LockType::NoKeyUpdate,
        _ => LockType::Update,
    };
    endpoint::Entity::find()
        .select_only()
        .column(endpoint::Column::Id)
        .filter(endpoint::Column::Id.is_in(waiting.clone()))
        .order_by_asc(endpoint::Column::Id)
        .lock(lock)
        .into_tuple::<i64>()
        .all(&tx)
        .await?;
    let busy: HashMap<i64, i64> = in_flight(&tx, Some(&waiting), now)
        .await?
        .into_iter()
        .collect();
    let mut claimed = Vec::new();
    for endpoint_id in waiting {
        let in_flight = usize::try_from(busy.get(&endpoint_id).copied().unwrap_or(0)).unwrap_or(0);
        let room = per_endpoint
            .saturating_sub(in_flight)
            .min(limit - claimed.len());
        if room == 0 {
            continue;
        }
        let rows = delivery::Entity::find()
            .filter(due(now))
            .filter(delivery::Column::EndpointId.eq(endpoint_id))
            .order_by_asc(delivery::Column::NextAttemptAt)
            .order_by_asc(delivery::Column::Id)
            .limit(room as u64)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&tx)
            .await?;
        claimed.extend(rows);
        if claimed.len() == limit {
            break;
        }
    }
    let ids: Vec<i64> = claimed.iter().map(|d| d.id).collect();
    if !ids.is_empty() {
        delivery::Entity::update_many()
            .col_expr(delivery::Column::LockedUntil, Expr::value(until))
            .filter(delivery::Column::Id.is_in(ids))
            .exec(&tx)
            .await?;
    }
    tx.commit().await?;
    Ok(claimed
        .into_iter()
        .map(|d| delivery::Model {
            locked_until: Some(until),
            ..d
        })
        .collect())
}

/// Whether any delivery is due now (a read without a lock).
async fn any_due(db: &sea_orm::DatabaseConnection, now: DateTime<Utc>) -> Result<bool, DbErr> {
    Ok(delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(due(now))
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}

/// The endpoints with `per_endpoint` deliveries in flight already: left out of a claim, or
/// they would take every place in its list and starve the others.
async fn at_limit<C: ConnectionTrait>(
    conn: &C,
    per_endpoint: usize,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    Ok(in_flight(conn, None, now)
        .await?
        .into_iter()
        .filter(|(_, n)| usize::try_from(*n).unwrap_or(usize::MAX) >= per_endpoint)
        .map(|(id, _)| id)
        .collect())
}

/// Deliveries under a live lease, per endpoint (of `endpoints`, or all).
async fn in_flight<C: ConnectionTrait>(
    conn: &C,
    endpoints: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, i64)>, DbErr> {
    let mut query = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::EndpointId)
        .column_as(delivery::Column::Id.count(), "n")
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::LockedUntil.gte(now));
    if let Some(endpoints) = endpoints {
        query = query.filter(delivery::Column::EndpointId.is_in(endpoints.iter().copied()));
    }
    query
        .group_by(delivery::Column::EndpointId)
        .into_tuple::<(i64, i64)>()
        .all(conn)
        .await
}

/// Takes the lease on one delivery of `endpoint_id` (a manual retry); `None` when there is no
/// such delivery, `Some(None)` when a worker is sending it right now.
pub async fn take(
    db: &sea_orm::DatabaseConnection,
    endpoint_id: i64,
    id: i64,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Option<Option<delivery::Model>>, DbErr> {
    let free = Condition::any()
        .add(delivery::Column::LockedUntil.is_null())
        .add(delivery::Column::LockedUntil.lt(now));
    let taken = delivery::Entity::update_many()
        .col_expr(delivery::Column::LockedUntil, Expr::value(until))
        .filter(delivery::Column::Id.eq(id))
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .filter(free)
        .exec(db)
        .await?
        .rows_affected
        == 1;
    let row = delivery::Entity::find_by_id(id)
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .one(db)
        .await?;
    Ok(row.map(|row| taken.then_some(row)))
}

/// Writes an attempt's outcome and gives the lease back — only while the lease `held` is still
/// the delivery's (a recorder whose lease ran out and was taken by another worker writes
/// nothing); `false` when it was not.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    held: Option<DateTime<Utc>>,
    outcome: &Recorded,
) -> Result<bool, DbErr> {
    let lease = match held {
        Some(until) => delivery::Column::LockedUntil.eq(until),
        None => delivery::Column::LockedUntil.is_null(),
    };
    let written = delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Attempts,
            Expr::col(delivery::Column::Attempts).add(1),
        )
        .col_expr(delivery::Column::Status, Expr::value(outcome.status))
        .col_expr(
            delivery::Column::LastStatusCode,
            Expr::value(outcome.status_code),
        )
        .col_expr(
            delivery::Column::LastError,
            Expr::value(outcome.error.clone()),
        )
        .col_expr(
            delivery::Column::DurationMs,
            Expr::value(outcome.duration_ms),
        )
        .col_expr(
            delivery::Column::NextAttemptAt,
            Expr::value(outcome.next_attempt_at),
        )
        .col_expr(
            delivery::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(delivery::Column::UpdatedAt, Expr::value(outcome.at))
        .filter(delivery::Column::Id.eq(id))
        .filter(lease)
        .exec(conn)
        .await?
        .rows_affected;
    Ok(written == 1)
}

/// What [`record`] writes.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub status: DeliveryStatus,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// Makes an endpoint's pending deliveries due now (it was turned back on).
pub async fn due_now<C: ConnectionTrait>(
    conn: &C,
    endpoint_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(now))
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .exec(conn)
        .await?;
    Ok(())
}

/// A page of an endpoint's deliveries, newest first, of one status or all.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    endpoint_id: i64,
    status: Option<DeliveryStatus>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<delivery::Model>), DbErr> {
    let mut filtered =
        delivery::Entity::find().filter(delivery::Column::EndpointId.eq(endpoint_id));
    if let Some(status) = status {
        filtered = filtered.filter(delivery::Column::Status.eq(status));
    }
    db::page(
        conn,
        filtered,
        |q| q.order_by_desc(delivery::Column::Id),
        offset,
        limit,
    )
    .await
}

/// When the oldest pending delivery of an endpoint that is on was made (an endpoint that is
/// off keeps its deliveries waiting on purpose).
pub async fn oldest_pending<C: ConnectionTrait>(conn: &C) -> Result<Option<DateTime<Utc>>, DbErr> {
    delivery::Entity::find()
        .select_only()
        .column(delivery::Column::CreatedAt)
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::EndpointId.in_subquery(active_endpoints()))
        .order_by_asc(delivery::Column::Id)
        .limit(1)
        .into_tuple::<DateTime<Utc>>()
        .one(conn)
        .await
}

/// Deletes up to `limit` delivered or failed deliveries last changed before `cutoff`.
pub async fn prune<C: ConnectionTrait>(
    conn: &C,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<u64, DbErr> {
    let ids: Vec<i64> = delivery::Entity::find()
        .select_only()
        .column(delivery::Column::Id)
        .filter(delivery::Column::Status.is_in([DeliveryStatus::Delivered, DeliveryStatus::Failed]))
        .filter(delivery::Column::UpdatedAt.lt(cutoff))
        .limit(limit)
        .into_tuple::<i64>()
        .all(conn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(delivery::Entity::delete_many()
        .filter(delivery::Column::Id.is_in(ids))
        .exec(conn)
        .await?
        .rows_affected)
}
