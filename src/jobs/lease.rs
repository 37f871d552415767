//! Leases: a named right, held by one process at a time across every worker, for a background
//! loop that must not run twice at once (the events publisher keeps each resource's events in
//! order this way). A lease is a row of `loop_leases`, taken with one conditional UPDATE (or
//! the first INSERT) and kept by taking it again before it expires; a holder that dies simply
//! stops renewing, and the lease is free once `expires_at` has passed.

use std::time::Duration;

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{Condition, Set};

use crate::{db, time};

/// A lease row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "loop_leases")]
pub struct Model {
    /// What the lease is for (`events.publish`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Who holds it (a random id per loop run).
    pub holder: String,
    /// When it is free unless renewed.
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

fn delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::minutes(5))
}

/// Takes the lease `name` for `holder` until `ttl` from now, or renews it when `holder`
/// already has it. `false` when another holder has it and it has not expired.
pub async fn take<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool, DbErr> {
    let now = time::now();
    let until = now + delta(ttl);
    let taken = Entity::update_many()
        .col_expr(Column::Holder, Expr::value(holder))
        .col_expr(Column::ExpiresAt, Expr::value(until))
        .filter(Column::Name.eq(name))
        .filter(
            Condition::any()
                .add(Column::Holder.eq(holder))
                .add(Column::ExpiresAt.lt(now)),
        )
        .exec(conn)
        .await?;
    if taken.rows_affected > 0 {
        return Ok(true);
    }
    // Someone else's, or no row yet (the first take ever; two first takers race on the key).
    if Entity::find_by_id(name.to_owned())
        .one(conn)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    let row = ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(holder.to_owned()),
        expires_at: Set(until),
    };
    match Entity::insert(row).exec_without_returning(conn).await {
        Ok(_) => Ok(true),
        Err(e) if db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives the lease up at once if `holder` has it (a clean shutdown: another worker need not
/// wait for it to expire).
pub async fn release<C: ConnectionTrait>(conn: &C, name: &str, holder: &str) -> Result<(), DbErr> {
    Entity::update_many()
        .col_expr(
            Column::ExpiresAt,
            Expr::value(time::now() - chrono::TimeDelta::seconds(1)),
        )
        .filter(Column::Name.eq(name))
        .filter(Column::Holder.eq(holder))
        .exec(conn)
        .await?;
    Ok(())
}

/// Who holds `name` now, if anyone (for tests and operators).
pub async fn holder<C: ConnectionTrait>(conn: &C, name: &str) -> Result<Option<String>, DbErr> {
    let row = Entity::find_by_id(name.to_owned()).one(conn).await?;
    Ok(row
        .filter(|row| row.expires_at > time::now())
        .map(|row| row.holder))
}
