//! The database layer on the configured engine: migrations, concurrent writers, round trips.

use emporium::accounts::service::{CreateUserError, create_superuser};
use emporium::auth::user;
use emporium::db;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};

use crate::helpers::{Spawn, TestDatabase, spawn};
use crate::probes;

async fn applied_migrations(conn: &sea_orm::DatabaseConnection) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n FROM emporium_migrations",
        ))
        .await
        .expect("query")
        .expect("one row");
    row.try_get::<i64>("", "n").expect("count")
}

#[tokio::test]
async fn migrations_are_safe_to_run_twice() {
    let database = TestDatabase::create().await;
    let conn = db::connect(&database.url, 2).await.expect("connect");
    db::migrate(&conn).await.expect("first run");
    let after_first = applied_migrations(&conn).await;
    db::migrate(&conn).await.expect("second run");
    assert_eq!(applied_migrations(&conn).await, after_first);
    assert!(after_first >= 1);
}

#[tokio::test]
async fn migrations_are_safe_from_several_processes_at_once() {
    let database = TestDatabase::create().await;
    // Separate pools stand for separate processes.
    let mut pools = Vec::new();
    for _ in 0..4 {
        pools.push(db::connect(&database.url, 2).await.expect("connect"));
    }
    let runs: Vec<_> = pools
        .iter()
        .map(|pool| {
            let pool = pool.clone();
            tokio::spawn(async move { db::migrate(&pool).await })
        })
        .collect();
    for run in runs {
        run.await
            .expect("task")
            .expect("every concurrent run succeeds");
    }
    let expected = applied_migrations(&pools[0]).await;
    assert!(expected >= 1);
    let users = user::Entity::find()
        .all(&pools[0])
        .await
        .expect("users table exists");
    assert!(users.is_empty());
}

#[tokio::test]
async fn concurrent_writers_that_read_then_write_in_an_exclusive_transaction_lose_nothing() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_DB_MAX_CONNECTIONS", "8".to_owned())],
        routes: Some(probes::routes()),
        ..Spawn::default()
    })
    .await;
    probes::create_counter(&app.state).await;
    let requests = (0..24).map(|_| {
        let client = app.client.clone();
        let url = app.url("/api/_probe/increment/");
        tokio::spawn(async move { client.post(url).send().await })
    });
    let mut statuses = Vec::new();
    let mut seen = Vec::new();
    for handle in requests.collect::<Vec<_>>() {
        let response = handle.await.expect("task").expect("answered");
        statuses.push(response.status().as_u16());
        let body: serde_json::Value = response.json().await.expect("json");
        seen.push(body["before"].as_i64().expect("before"));
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..24).collect::<Vec<i64>>(),
        "each writer saw the one before it"
    );
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT n FROM probe_counter WHERE id = 1",
        ))
        .await
        .expect("query")
        .expect("row");
    assert_eq!(row.try_get::<i64>("", "n").expect("n"), 24);
}

#[tokio::test]
async fn a_user_round_trips_with_its_timestamp_and_a_hashed_password() {
    let app = spawn(Spawn::default()).await;
    let created = create_superuser(
        &app.state.db,
        &app.state.hash_gate,
        " Boss@Shop.Example ",
        "a sound passphrase",
    )
    .await
    .expect("created");
    assert_eq!(created.email, "boss@shop.example");
    assert!(created.is_staff);
    let stored = user::Entity::find_by_id(created.id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(
        stored.date_joined, created.date_joined,
        "timestamps survive a round trip"
    );
    assert!(stored.password.starts_with("$argon2id$"));
    assert!(!stored.password.contains("a sound passphrase"));

    let again = create_superuser(
        &app.state.db,
        &app.state.hash_gate,
        "BOSS@shop.example",
        "another passphrase",
    )
    .await;
    assert!(matches!(again, Err(CreateUserError::EmailTaken)));
    let weak = create_superuser(
        &app.state.db,
        &app.state.hash_gate,
        "new@shop.example",
        "1234567",
    )
    .await;
    assert!(matches!(weak, Err(CreateUserError::WeakPassword(_))));
    let (status, _) = app.get("/ready/").await;
    assert_eq!(status, 200);
}
