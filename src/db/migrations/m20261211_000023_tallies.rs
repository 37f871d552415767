//! The `tallies` behind the dashboard's overview (see [`crate::db::tally`]): orders by status,
//! orders placed and paid per slot of time, refunds per slot. They are counted here from the
//! orders and refunds there are; from then on the writers keep them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, small_integer, string_len};

use crate::db::sql::Sql;
use crate::db::tally::{Change, REFUNDS, SALES, add, clear, order_status, slot};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tallies {
    Table,
    Name,
    KeyValue,
    Shard,
    N,
    Amount,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tallies::Table)
                    .if_not_exists()
                    .col(string_len(Tallies::Name, 40))
                    .col(big_integer(Tallies::KeyValue))
                    .col(small_integer(Tallies::Shard))
                    .col(big_integer(Tallies::N))
                    .col(big_integer(Tallies::Amount))
                    .primary_key(
                        Index::create()
                            .col(Tallies::Name)
                            .col(Tallies::KeyValue)
                            .col(Tallies::Shard),
                    )
                    .to_owned(),
            )
            .await?;
        recount(manager.get_connection()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Tallies::Table).if_exists().to_owned())
            .await
    }
}

/// Rows read at a time while counting.
const PAGE: u64 = 5_000;

/// Tally rows written in one statement.
const BATCH: usize = 500;

/// Counts the tallies again from the orders and refunds (`emporium recount`): for a database
/// whose orders were written by hand. The writers' rules, said once more in SQL terms: an order
/// is placed unless `CANCELLED`, paid when its payment is `PAID` or `REFUNDED`; a refund counts
/// unless it gave back a second capture. Run it while nothing else writes orders.
pub async fn recount<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let mut statuses: HashMap<String, i64> = HashMap::new();
    let mut sales: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let rows = orders_after(conn, after.as_deref()).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.try_get_by_index(0)?);
        for row in &rows {
            let status: String = row.try_get_by_index(1)?;
            let payment: String = row.try_get_by_index(2)?;
            let total: i64 = row.try_get_by_index(3)?;
            let at: DateTime<Utc> = row.try_get_by_index(4)?;
            let day = sales.entry(slot(at)).or_default();
            day.0 += i64::from(status != "CANCELLED");
            if payment == "PAID" || payment == "REFUNDED" {
                day.1 += total;
            }
            *statuses.entry(status).or_default() += 1;
        }
    }
    let mut refunds: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut after = 0_i64;
    loop {
        let mut sql = Sql::new(conn.get_database_backend());
        sql.push("SELECT id, amount, created_at FROM payment_refunds WHERE id > ")
            .value(after)
            .push(" AND kind <> ")
            .value("EXTRA_CAPTURE")
            .push(" ORDER BY id LIMIT ")
            .push(&PAGE.to_string());
        let rows = conn.query_all_raw(sql.statement()).await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get_by_index(0)?;
        for row in &rows {
            let amount: i64 = row.try_get_by_index(1)?;
            let at: DateTime<Utc> = row.try_get_by_index(2)?;
            let slot = refunds.entry(slot(at)).or_default();
            slot.0 += 1;
            slot.1 += amount;
        }
    }

    clear(conn).await?;
    let statuses = statuses.into_iter().map(|(status, n)| Change {
        name: order_status(&status),
        key: 0,
        n,
        amount: 0,
    });
    let sales = sales.into_iter().map(|(slot, (n, amount))| Change {
        name: SALES.to_owned(),
        key: slot,
        n,
        amount,
    });
    let refunds = refunds.into_iter().map(|(slot, (n, amount))| Change {
        name: REFUNDS.to_owned(),
        key: slot,
        n,
        amount,
    });
    let changes: Vec<Change> = statuses.chain(sales).chain(refunds).collect();
    for batch in changes.chunks(BATCH) {
        add(conn, 0, batch.to_vec()).await?;
    }
    Ok(())
}

/// The next page of orders by id.
async fn orders_after<C: ConnectionTrait>(
    conn: &C,
    after: Option<&str>,
) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT id, status, payment_status, total_amount, created_at FROM orders");
    if let Some(after) = after {
        sql.push(" WHERE id > ").value(after);
    }
    sql.push(" ORDER BY id LIMIT ").push(&PAGE.to_string());
    conn.query_all_raw(sql.statement()).await
}
