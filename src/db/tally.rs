//! Running sums kept by the writers, for figures that would otherwise count a table that grows
//! with the shop (the dashboard's orders by status, its 30 days of sales).
//!
//! The `tallies` table holds every tally: a row is a tally's name, a key (a slot of time, or 0),
//! a shard and two sums, `n` and `amount`. A writer adds its change in its own transaction, to
//! the rows of one of [`SHARDS`] shards (an upsert: `+ n` on the row there is): writers to one
//! key spread over the shards instead of queueing on one row. A reader sums the shards. Time-keyed tallies are kept per [`SLOT_SECONDS`] slot of UTC time,
//! which every time zone's midnight falls on, so a reader can add slots into the days of any zone.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use super::sql::{Sql, integer};

/// The slots of time-keyed tallies: a quarter of an hour (every zone's offset is a multiple).
pub const SLOT_SECONDS: i64 = 900;

/// How many rows one key's sums are spread over.
pub const SHARDS: u64 = 4;

/// The slot `at` falls in.
pub fn slot(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(SLOT_SECONDS)
}

/// The shard a change about `key` (an order's id) goes to: the same for every change of one
/// order, so one transaction's changes to a tally take its rows in one order.
pub fn shard(key: &str) -> i16 {
    // FNV-1a: stable across builds and processes (the standard hasher is seeded per process).
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    i16::try_from(hash % SHARDS).unwrap_or(0)
}

/// The tallies' names: one per order status (`orders` keeps them; key 0, `n` orders).
pub fn order_status(status: &str) -> String {
    format!("orders:{status}")
}

/// Per slot of when orders were placed (the key): `n` not cancelled, `amount` the totals of
/// those paid (`orders` keeps it).
pub const SALES: &str = "sales";

/// Per slot of when refunds were made (the key): `n` refunds, `amount` the money they gave back
/// of orders' payments (`payments` keeps it).
pub const REFUNDS: &str = "refunds";

/// A change to one tally row: what to add to `n` and `amount` of tally `name`'s `key`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub name: String,
    pub key: i64,
    pub n: i64,
    pub amount: i64,
}

/// Adds `changes` in shard `shard`, in one statement (a change that adds nothing is left out).
/// The rows are written in the order of their names and keys, so two transactions take the rows
/// they share in the same order. A name and key appear once.
pub async fn add<C: ConnectionTrait>(
    conn: &C,
    shard: i16,
    mut changes: Vec<Change>,
) -> Result<(), DbErr> {
    changes.retain(|c| c.n != 0 || c.amount != 0);
    if changes.is_empty() {
        return Ok(());
    }
    changes.sort();
    let backend = conn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("INSERT INTO tallies (name, key_value, shard, n, amount) VALUES ");
    for (i, change) in changes.into_iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.value(change.name)
            .push(", ")
            .value(change.key)
            .push(", ")
            .value(shard)
            .push(", ")
            .value(change.n)
            .push(", ")
            .value(change.amount)
            .push(")");
    }
    if backend == DbBackend::MySql {
        sql.push(
            " ON DUPLICATE KEY UPDATE n = tallies.n + VALUES(n), \
             amount = tallies.amount + VALUES(amount)",
        );
    } else {
        sql.push(
            " ON CONFLICT (name, key_value, shard) DO UPDATE SET n = tallies.n + excluded.n, \
             amount = tallies.amount + excluded.amount",
        );
    }
    conn.execute_raw(sql.statement()).await?;
    Ok(())
}

/// The `n` of each of `names` at key 0, over the shards (0 for a name with no row).
pub async fn counts<C: ConnectionTrait>(conn: &C, names: &[String]) -> Result<Vec<i64>, DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT name, ");
    summed(&mut sql, "n");
    sql.push(" FROM tallies WHERE name IN ")
        .list(names.iter().cloned())
        .push(" AND key_value = 0 GROUP BY name");
    let mut counts = vec![0; names.len()];
    for row in conn.query_all_raw(sql.statement()).await? {
        let name: String = row.try_get_by_index(0)?;
        if let Some(i) = names.iter().position(|n| *n == name) {
            counts[i] = integer(&row, 1)?;
        }
    }
    Ok(counts)
}

/// Tally `name`'s `(n, amount)` in each range of `bounds` (its keys are slots): one read of a
/// range of the primary key, `bounds.len() - 1` sums.
pub async fn per_range<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    bounds: &[DateTime<Utc>],
) -> Result<Vec<(i64, i64)>, DbErr> {
    let mut sums = vec![(0, 0); bounds.len().saturating_sub(1)];
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
        return Ok(sums);
    };
    let starts: Vec<i64> = bounds.iter().map(|b| slot(*b)).collect();
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT key_value, ");
    summed(&mut sql, "n");
    sql.push(", ");
    summed(&mut sql, "amount");
    sql.push(" FROM tallies WHERE name = ")
        .value(name)
        .push(" AND key_value >= ")
        .value(slot(*first))
        .push(" AND key_value < ")
        .value(slot(*last))
        .push(" GROUP BY key_value");
    for row in conn.query_all_raw(sql.statement()).await? {
        let range = range_of(&starts, integer(&row, 0)?);
        if let Some((n, amount)) = range.and_then(|r| sums.get_mut(r)) {
            *n += integer(&row, 1)?;
            *amount += integer(&row, 2)?;
        }
    }
    Ok(sums)
}

/// Which range a slot is in, given the slots the ranges start on (the last is where the last
/// range ends): the last start at or before it; `None` before the first or from the end on.
fn range_of(starts: &[i64], slot: i64) -> Option<usize> {
    let after = starts.partition_point(|start| *start <= slot);
    (after > 0 && after < starts.len()).then(|| after - 1)
}

/// Empties every tally (before they are counted again from their sources).
pub async fn clear<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    conn.execute_unprepared("DELETE FROM tallies").await?;
    Ok(())
}

fn summed(sql: &mut Sql, column: &str) {
    super::sql::as_integer(sql, &|sql| {
        sql.push("SUM(").push(column).push(")");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn a_slot_is_a_quarter_of_an_hour_of_utc() {
        assert_eq!(slot(at("1970-01-01T00:14:59Z")), 0);
        assert_eq!(slot(at("1970-01-01T00:15:00Z")), 1);
        // Kolkata's midnight (UTC+5:30) and Kathmandu's (UTC+5:45) begin slots.
        assert_eq!(at("2026-12-06T18:30:00Z").timestamp() % SLOT_SECONDS, 0);
        assert_eq!(at("2026-12-06T18:15:00Z").timestamp() % SLOT_SECONDS, 0);
        assert_eq!(slot(at("1969-12-31T23:59:59Z")), -1);
    }

    #[test]
    fn a_slot_is_added_into_the_day_of_the_shop_s_zone_it_falls_in() {
        // Kolkata (UTC+5:30): 7 December runs from 18:30 UTC on the 6th to 18:30 on the 7th.
        let starts = [
            slot(at("2026-12-05T18:30:00Z")),
            slot(at("2026-12-06T18:30:00Z")),
            slot(at("2026-12-07T18:30:00Z")),
        ];
        assert_eq!(range_of(&starts, slot(at("2026-12-06T18:29:59Z"))), Some(0));
        assert_eq!(range_of(&starts, slot(at("2026-12-06T18:30:00Z"))), Some(1));
        assert_eq!(range_of(&starts, slot(at("2026-12-07T18:14:59Z"))), Some(1));
        assert_eq!(range_of(&starts, slot(at("2026-12-07T18:30:00Z"))), None);
        assert_eq!(range_of(&starts, slot(at("2026-12-05T18:29:59Z"))), None);
        // 96 slots a day, and a day of 23 hours (a clock moved forward) has 92.
        assert_eq!(starts[1] - starts[0], 96);
        let berlin = [
            slot(at("2026-03-28T23:00:00Z")),
            slot(at("2026-03-29T22:00:00Z")),
        ];
        assert_eq!(berlin[1] - berlin[0], 92);
    }

    #[test]
    fn one_key_always_goes_to_one_shard_and_keys_spread() {
        assert_eq!(shard("ord_1"), shard("ord_1"));
        let used: std::collections::HashSet<i16> =
            (0..200).map(|n| shard(&format!("ord_{n}"))).collect();
        assert_eq!(used.len() as u64, SHARDS);
        assert!(used.iter().all(|s| (0..SHARDS as i16).contains(s)));
    }
}
