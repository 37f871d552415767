//! Where the primary's changes are and how far a replica has replayed them, per engine: the
//! positions the read replica's monitor compares and the check a cache fill makes.
//!
//! PostgreSQL: WAL locations. The primary's is `pg_current_wal_insert_lsn()` — where the next
//! record goes, so past every record inserted, committed or not, flushed or not — and not
//! `pg_current_wal_lsn()` (what is written out): a commit made with `synchronous_commit = off`
//! is visible on the primary before its record is written, and a replica that had replayed the
//! written location would not have it. The replica's is `pg_last_wal_replay_lsn()` (NULL: not a
//! standby).
//!
//! MariaDB: GTID positions, one sequence number per replication domain; the primary's is
//! `@@gtid_binlog_pos` (a transaction is in the binlog before it is visible), the replica's
//! `@@gtid_slave_pos` (moved in the transaction that applies each one).

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};

/// A point in the primary's stream of changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// PostgreSQL: a WAL location.
    Wal(u64),
    /// MariaDB: per replication domain, the server and sequence number of its last GTID.
    Gtid(Vec<Gtid>),
}

/// One GTID, `domain-server-sequence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gtid {
    /// The replication domain.
    pub domain: u32,
    /// The server that wrote it.
    pub server: u32,
    /// Its sequence number in the domain.
    pub sequence: u64,
}

/// The bytes of a WAL page, and the longest header one starts with (the first page of a
/// segment): no record ends inside a header.
const WAL_PAGE: u64 = 8192;
const WAL_PAGE_HEADER_MAX: u64 = 40;

impl Position {
    /// Reads a PostgreSQL LSN (`16/B374D848`).
    pub fn parse_lsn(text: &str) -> Option<Position> {
        let (high, low) = text.trim().split_once('/')?;
        let high = u64::from_str_radix(high, 16).ok()?;
        let low = u64::from_str_radix(low, 16).ok()?;
        (high <= u64::from(u32::MAX) && low <= u64::from(u32::MAX))
            .then_some(Position::Wal((high << 32) | low))
    }

    /// Reads a MariaDB GTID position (`0-1-9,1-2-5`; empty: nothing written yet).
    pub fn parse_gtid(text: &str) -> Option<Position> {
        let mut gtids = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let mut numbers = part.splitn(3, '-');
            gtids.push(Gtid {
                domain: numbers.next()?.parse().ok()?,
                server: numbers.next()?.parse().ok()?,
                sequence: numbers.next()?.parse().ok()?,
            });
        }
        Some(Position::Gtid(gtids))
    }

    /// True when a replica that has replayed up to `self` has replayed all of `primary`.
    ///
    /// On PostgreSQL the primary's insert location of an idle server can point just past the
    /// header of a page no record has reached yet, where a replica's replay location (the end of
    /// the last record) never gets: a location inside a page's header counts as the page's
    /// start, or an idle primary would make a caught-up replica look late.
    pub fn covers(&self, primary: &Position) -> bool {
        match (self, primary) {
            (Position::Wal(replayed), Position::Wal(written)) => {
                let offset = written % WAL_PAGE;
                let written = if offset <= WAL_PAGE_HEADER_MAX {
                    written - offset
                } else {
                    *written
                };
                *replayed >= written
            }
            (Position::Gtid(replayed), Position::Gtid(written)) => written.iter().all(|w| {
                replayed
                    .iter()
                    .any(|r| r.domain == w.domain && r.sequence >= w.sequence)
            }),
            _ => false,
        }
    }

    /// The position as its engine writes it.
    fn text(&self) -> String {
        match self {
            Position::Wal(lsn) => format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF),
            Position::Gtid(gtids) => gtids
                .iter()
                .map(|g| format!("{}-{}-{}", g.domain, g.server, g.sequence))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// One text column of one row (`None`: NULL).
async fn text_of(db: &DatabaseConnection, sql: &str) -> Result<Option<String>, DbErr> {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    match db.query_one_raw(statement).await? {
        Some(row) => row.try_get_by_index::<Option<String>>(0),
        None => Ok(None),
    }
}

fn unreadable(what: &str, text: &str) -> DbErr {
    DbErr::Custom(format!("unreadable {what}: {text:?}"))
}

/// The primary's position now: everything visible on it is at or before it.
pub async fn primary_position(db: &DatabaseConnection) -> Result<Position, DbErr> {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let text = text_of(db, "SELECT pg_current_wal_insert_lsn()::text")
                .await?
                .unwrap_or_default();
            Position::parse_lsn(&text).ok_or_else(|| unreadable("WAL location", &text))
        }
        DbBackend::MySql => {
            let text = text_of(db, "SELECT CAST(@@gtid_binlog_pos AS CHAR)")
                .await?
                .unwrap_or_default();
            Position::parse_gtid(&text).ok_or_else(|| unreadable("GTID position", &text))
        }
        _ => Err(DbErr::Custom("SQLite has no replicas".to_owned())),
    }
}

/// How far the replica has replayed (`None`: it is not replaying anything — not a standby).
pub async fn replayed_position(replica: &DatabaseConnection) -> Result<Option<Position>, DbErr> {
    match replica.get_database_backend() {
        DbBackend::Postgres => {
            match text_of(replica, "SELECT pg_last_wal_replay_lsn()::text").await? {
                Some(text) => Position::parse_lsn(&text)
                    .map(Some)
                    .ok_or_else(|| unreadable("WAL location", &text)),
                None => Ok(None),
            }
        }
        DbBackend::MySql => {
            let text = text_of(replica, "SELECT CAST(@@gtid_slave_pos AS CHAR)")
                .await?
                .unwrap_or_default();
            Position::parse_gtid(&text)
                .map(Some)
                .ok_or_else(|| unreadable("GTID position", &text))
        }
        _ => Ok(None),
    }
}

/// True when the replica has replayed everything up to `primary` — asked of the replica itself,
/// now (PostgreSQL compares its replay location; MariaDB's `MASTER_GTID_WAIT` with no wait).
pub async fn has_replayed(replica: &DatabaseConnection, primary: &Position) -> Result<bool, DbErr> {
    let backend = replica.get_database_backend();
    let (sql, position) = match primary {
        Position::Wal(lsn) => {
            let offset = lsn % WAL_PAGE;
            let floor = if offset <= WAL_PAGE_HEADER_MAX {
                lsn - offset
            } else {
                *lsn
            };
            (
                "SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)",
                Position::Wal(floor).text(),
            )
        }
        Position::Gtid(gtids) if gtids.is_empty() => return Ok(true),
        Position::Gtid(_) => (
            "SELECT CAST(COALESCE(MASTER_GTID_WAIT(?, 0), -1) = 0 AS SIGNED)",
            primary.text(),
        ),
    };
    let statement = Statement::from_sql_and_values(backend, sql, [Value::from(position)]);
    let Some(row) = replica.query_one_raw(statement).await? else {
        return Ok(false);
    };
    match backend {
        DbBackend::Postgres => row.try_get_by_index::<bool>(0),
        _ => Ok(row.try_get_by_index::<i64>(0)? == 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_positions_read_back_as_written() {
        let lsn = Position::parse_lsn("16/B374D848").expect("an LSN");
        assert_eq!(lsn, Position::Wal(0x16_B374_D848));
        assert_eq!(lsn.text(), "16/B374D848");
        let gtid = Position::parse_gtid("0-1-9, 1-2-5").expect("a position");
        assert_eq!(gtid.text(), "0-1-9,1-2-5");
        assert_eq!(Position::parse_gtid(""), Some(Position::Gtid(Vec::new())));
        assert_eq!(Position::parse_lsn("16"), None);
        assert_eq!(Position::parse_gtid("0-1"), None);
    }

    #[test]
    fn a_replica_covers_what_it_has_replayed_per_domain() {
        let at = |text: &str| Position::parse_gtid(text).expect("a position");
        assert!(at("0-1-9").covers(&at("0-1-9")));
        assert!(at("0-1-10,1-2-3").covers(&at("0-1-9")));
        assert!(!at("0-1-8").covers(&at("0-1-9")));
        assert!(!at("0-1-9").covers(&at("0-1-9,1-2-1")));
        assert!(at("").covers(&at("")));
    }

    #[test]
    fn a_wal_location_in_a_page_header_counts_as_the_page_start() {
        let page = 5 * WAL_PAGE;
        assert!(Position::Wal(page).covers(&Position::Wal(page + 24)));
        assert!(Position::Wal(page).covers(&Position::Wal(page + 40)));
        assert!(!Position::Wal(page).covers(&Position::Wal(page + 48)));
        assert!(!Position::Wal(page - 8).covers(&Position::Wal(page + 24)));
        assert!(!Position::Wal(1).covers(&Position::Gtid(Vec::new())));
    }
}
