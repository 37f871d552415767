//! Read replicas (`DATABASE_REPLICA_URL`) against a real PostgreSQL hot standby and a real
//! MariaDB GTID replica, started by `.ci/replica start`: catalog reads go to the replica while it
//! keeps up, a client who wrote reads from the primary, a replica behind by more than
//! `EMPORIUM_REPLICA_MAX_LAG` or down is bypassed, an idle primary does not make it look late, and
//! the response cache is never filled from it while it is behind. Replay is really held back
//! (`pg_wal_replay_pause()`, `STOP SLAVE SQL_THREAD`).
//!
//! The tests share the two replicas (and the process's metrics), so they run one at a time.

mod setup;

use std::time::Duration;

use emporium::replica::Target;
use reqwest::Method;
use serde_json::{Value, json};
use setup::{Kind, Pair, Paused, ReplicatedDb};

use crate::fixtures::product;
use crate::helpers::{TestApp, eventually, free_port};

/// One replica test at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A test's turn on the shared replicas of `kind` (held while the guard lives), and a database
/// of its own on them.
async fn turn(kind: Kind) -> (tokio::sync::MutexGuard<'static, ()>, Pair, ReplicatedDb) {
    let one = ONE_AT_A_TIME.lock().await;
    let pair = Pair::of(kind);
    let db = ReplicatedDb::create(&pair).await;
    (one, pair, db)
}

/// Addresses the tests' clients read and write from (through the trusted test client).
const READER: &str = "203.0.113.9";
const WRITER_A: &str = "198.51.100.1";
const READER_B: &str = "198.51.100.2";

/// GET `path` as a client at `address` (with `token`, when given): status, body, `X-Cache`.
async fn get_from(
    app: &TestApp,
    address: &str,
    token: Option<&str>,
    path: &str,
) -> (u16, Value, String) {
    let response = app
        .request(Method::GET, path, token)
        .header("x-forwarded-for", address)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, response.json().await.unwrap_or(Value::Null), cache)
}

/// The price of product `id` as a client at `address` reads it.
async fn price_seen(app: &TestApp, address: &str, token: Option<&str>, id: i64) -> String {
    let (status, body, _) = get_from(app, address, token, &format!("/api/products/{id}/")).await;
    assert_eq!(status, 200, "{body}");
    body["price"].as_str().expect("a price").to_owned()
}

/// The replica's entry in `/ready/` (which must answer 200): its state and lag.
async fn replica_ready(app: &TestApp) -> (String, Value) {
    let (status, body) = app.get("/ready/").await;
    assert_eq!(status, 200, "{body}");
    let state = body["checks"]["replica"].as_str().expect("checks.replica");
    (state.to_owned(), body["replica_lag_seconds"].clone())
}

/// Waits until the replica has replayed everything the primary has now (asked of both, not of
/// the monitor, whose last check may predate the last write) and is usable.
async fn caught_up(app: &TestApp) {
    let replica = app.state.replica.clone().expect("a replica");
    let primary = app.state.db.clone();
    let done = eventually(Duration::from_secs(20), || {
        let (replica, primary) = (replica.clone(), primary.clone());
        async move { replica.has_caught_up_with(&primary).await && replica.usable() }
    })
    .await;
    assert!(done, "the replica did not catch up: {:?}", replica.report());
}

/// A staff token on `app` and product with `price`, with the replica caught up after both.
async fn staff_and_product(app: &TestApp, price: &str) -> (String, i64) {
    let staff = app.staff_token().await;
    let id = product(app, &staff, "Lamp", price, 5).await;
    caught_up(app).await;
    (staff, id)
}

fn replica_reads(app: &TestApp) -> u64 {
    app.state
        .replica
        .as_ref()
        .expect("a replica")
        .reads(Target::Replica)
}

async fn a_caught_up_replica_serves_the_readers_who_did_not_write(kind: Kind) {
    let (_one, pair, db) = turn(kind).await;
    let app = db.app(&db.replica_url, &[("EMPORIUM_CACHE", "off")]).await;
    let (staff, id) = staff_and_product(&app, "10.00").await;

    let (reads, counted) = (
        replica_reads(&app),
        app.metric("db_reads_total{target=\"replica\"}").await,
    );
    assert_eq!(price_seen(&app, READER, None, id).await, "10.00");
    assert_eq!(replica_reads(&app), reads + 1, "served by the replica");
    let now = app.metric("db_reads_total{target=\"replica\"}").await;
    assert!(
        now > counted,
        "db_reads_total{{target=\"replica\"}}: {counted:?} then {now:?}"
    );

    // Proof that it is the replica: what is written while it does not replay is not there.
    let paused = Paused::start(&pair).await;
    let later = product(&app, &staff, "Kettle", "20.00", 5).await;
    let (status, list, _) = get_from(&app, READER, None, "/api/products/").await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|p| p["id"].as_i64())
        .collect();
    assert!(
        ids.contains(&id) && !ids.contains(&later),
        "the replica's list: {ids:?}"
    );
    paused.resume().await;
    caught_up(&app).await;
    let (_, list, _) = get_from(&app, READER, None, "/api/products/").await;
    assert_eq!(list["count"], 2, "{list}");
}

async fn writers_read_their_writes_and_a_late_replica_is_bypassed(kind: Kind) {
    let (_one, pair, db) = turn(kind).await;
    let app = db.app(&db.replica_url, &[("EMPORIUM_CACHE", "off")]).await;
    let (staff, id) = staff_and_product(&app, "10.00").await;

    let paused = Paused::start(&pair).await;
    let path = format!("/api/products/{id}/");
    let (status, body) = app
        .patch(&path, Some(&staff), json!({"price": "12.00"}))
        .await;
    assert_eq!(status, 200, "{body}");
    // Within the maximum lag: a reader who did not write still gets the replica …
    let report = app.state.replica.as_ref().map(|r| r.report());
    let seen = price_seen(&app, READER_B, None, id).await;
    assert_eq!(
        seen, "10.00",
        "a reader who did not write, replica {report:?}"
    );
    // … the writer (the token's user) and an anonymous client who wrote do not.
    assert_eq!(price_seen(&app, READER, Some(&staff), id).await, "12.00");
    let email = format!("a-{}@example.com", uuid::Uuid::new_v4().simple());
    let registered = app
        .request(Method::POST, "/api/auth/register/", None)
        .header("x-forwarded-for", WRITER_A)
        .json(&json!({"email": email, "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(registered.status(), 201);
    assert_eq!(price_seen(&app, WRITER_A, None, id).await, "12.00");

    // Past the maximum lag the replica is bypassed for everybody; /ready/ stays 200.
    let lagging = eventually(Duration::from_secs(10), || async {
        replica_ready(&app).await.0 == "lagging"
    })
    .await;
    assert!(lagging, "the replica never showed as lagging");
    assert_eq!(price_seen(&app, READER_B, None, id).await, "12.00");
    let (_, lag) = replica_ready(&app).await;
    assert!(lag.as_f64().is_some_and(|lag| lag > 2.0), "lag {lag}");
    let shown = app.metric("db_replica_lag_seconds").await;
    assert!(
        shown.is_some_and(|lag| lag > 2.0),
        "db_replica_lag_seconds {shown:?}"
    );
    assert_eq!(app.metric("db_replica_usable").await, Some(0.0));

    // Caught up again, it serves again.
    paused.resume().await;
    let up = eventually(Duration::from_secs(20), || async {
        replica_ready(&app).await.0 == "up"
    })
    .await;
    assert!(up, "the replica never came back");
    caught_up(&app).await;
    let before = replica_reads(&app);
    assert_eq!(price_seen(&app, READER, None, id).await, "12.00");
    assert_eq!(replica_reads(&app), before + 1);
    assert_eq!(app.metric("db_replica_usable").await, Some(1.0));
}

async fn an_idle_primary_does_not_make_the_replica_look_late(kind: Kind) {
    let (_one, _pair, db) = turn(kind).await;
    let app = db.app(&db.replica_url, &[("EMPORIUM_CACHE", "off")]).await;
    staff_and_product(&app, "10.00").await;
    let zero = eventually(Duration::from_secs(5), || async {
        replica_ready(&app).await.1.as_f64() == Some(0.0)
    })
    .await;
    assert!(zero, "the monitor never saw the replica caught up");
    // Three seconds without a write: the lag stays 0, whatever the primary's clock says.
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (state, lag) = replica_ready(&app).await;
        assert_eq!(state, "up");
        assert_eq!(lag.as_f64(), Some(0.0), "lag of a caught-up replica");
    }
}

async fn a_replica_that_is_down_is_bypassed(kind: Kind) {
    let (_one, _pair, db) = turn(kind).await;
    let closed = format!(
        "{}127.0.0.1:{}/{}",
        match kind {
            Kind::Postgres => "postgres://postgres@",
            Kind::MariaDb => "mysql://emporium@",
        },
        free_port(),
        "emporium_nowhere"
    );
    let app = db.app(&closed, &[("EMPORIUM_CACHE", "off")]).await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Lamp", "10.00", 5).await;
    assert_eq!(price_seen(&app, READER, None, id).await, "10.00");
    let (status, list, _) = get_from(&app, READER, None, "/api/products/?search=lamp").await;
    assert_eq!((status, list["count"].clone()), (200, json!(1)), "{list}");
    let (status, _, _) = get_from(&app, READER, None, "/api/categories/").await;
    assert_eq!(status, 200);
    let (state, lag) = replica_ready(&app).await;
    assert_eq!((state.as_str(), lag), ("down", Value::Null));
    assert_eq!(replica_reads(&app), 0);
}

async fn the_cache_is_never_filled_from_a_late_replica(kind: Kind) {
    let (_one, pair, db) = turn(kind).await;
    let app = db
        .app(&db.replica_url, &[("EMPORIUM_CACHE", "local")])
        .await;
    let (staff, id) = staff_and_product(&app, "10.00").await;
    let (_, list, _) = get_from(&app, READER, None, "/api/products/").await;
    assert_eq!(list["results"][0]["price"], "10.00");

    let paused = Paused::start(&pair).await;
    let path = format!("/api/products/{id}/");
    let (status, body) = app
        .patch(&path, Some(&staff), json!({"price": "12.00"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        app.state.replica.as_ref().expect("a replica").usable(),
        "still within the lag"
    );
    let (_, list, cache) = get_from(&app, READER, None, "/api/products/").await;
    assert_eq!(
        (list["results"][0]["price"].clone(), cache.as_str()),
        (json!("12.00"), "miss")
    );
    let (_, list, cache) = get_from(&app, READER, None, "/api/products/").await;
    assert_eq!(
        (list["results"][0]["price"].clone(), cache.as_str()),
        (json!("12.00"), "hit")
    );
    paused.resume().await;
}

#[tokio::test]
#[ignore = "needs .ci/replica and Redis: set EMPORIUM_TEST_PG_PRIMARY, EMPORIUM_TEST_PG_REPLICA and EMPORIUM_TEST_REDIS and pass --include-ignored"]
async fn a_writer_reads_from_the_primary_on_every_node_with_redis() {
    let (_one, pair, db) = turn(Kind::Postgres).await;
    let shared = crate::helpers::shared_redis(&[("EMPORIUM_CACHE", "off")]);
    let shared: Vec<(&'static str, &str)> = shared.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = db.app(&db.replica_url, &shared).await;
    let second = db.app(&db.replica_url, &shared).await;
    let (staff, id) = staff_and_product(&first, "10.00").await;
    caught_up(&second).await;

    let paused = Paused::start(&pair).await;
    let path = format!("/api/products/{id}/");
    let (status, body) = first
        .patch(&path, Some(&staff), json!({"price": "12.00"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(price_seen(&second, READER, Some(&staff), id).await, "12.00");
    assert_eq!(price_seen(&second, READER_B, None, id).await, "10.00");
    paused.resume().await;
}

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                #[ignore = "needs .ci/replica: set EMPORIUM_TEST_PG_PRIMARY and EMPORIUM_TEST_PG_REPLICA and pass --include-ignored"]
                async fn $name() {
                    super::$name(super::Kind::Postgres).await;
                }
            )*
        }
        mod mariadb {
            $(
                #[tokio::test]
                #[ignore = "needs .ci/replica: set EMPORIUM_TEST_MARIADB_PRIMARY, _REPLICA and _REPLICA_ADMIN and pass --include-ignored"]
                async fn $name() {
                    super::$name(super::Kind::MariaDb).await;
                }
            )*
        }
    };
}

on_both_engines!(
    a_caught_up_replica_serves_the_readers_who_did_not_write,
    writers_read_their_writes_and_a_late_replica_is_bypassed,
    an_idle_primary_does_not_make_the_replica_look_late,
    a_replica_that_is_down_is_bypassed,
    the_cache_is_never_filled_from_a_late_replica,
);
