//! Deliveries are bounded and fair: one endpoint that never answers holds at most its own few
//! slots (`EMPORIUM_WEBHOOK_ENDPOINT_CONCURRENCY`, over every worker) while a healthy endpoint
//! gets everything at once and jobs of other kinds run; two nodes sharing a database send each
//! event to an endpoint once.

use std::time::{Duration, Instant};

use chrono::Utc;
use emporium::events::kind::EventType;
use emporium::events::service::{NewEvent, Resource, record};
use emporium::webhooks::delivery::{self, DeliveryStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::helpers::receiver::Receiver;
use crate::helpers::{Spawn, TestApp, TestDatabase, eventually, spawn};
use crate::webhook_deliveries::{app_with, deliveries_of, hook, node_without_worker, received};

/// Writes `n` events straight into the outbox, as `n` product changes would.
async fn write_events(app: &TestApp, n: i64) {
    let events = (0..n)
        .map(|i| {
            NewEvent::of(
                EventType::ProductUpdated,
                Resource::Product(1_000 + i),
                &json!({"n": i}),
            )
            .expect("event")
        })
        .collect();
    record(&app.state.db, events, Utc::now())
        .await
        .expect("recorded");
}

/// Deliveries of `endpoint_id` under a live lease: in flight now.
async fn in_flight(app: &TestApp, endpoint_id: i64) -> u64 {
    delivery::Entity::find()
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(delivery::Column::LockedUntil.gte(Utc::now()))
        .count(&app.state.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_dead_endpoint_holds_only_its_own_slots_while_others_get_everything() {
    let app = app_with(&[("EMPORIUM_WEBHOOK_TIMEOUT", "3s")]).await;
    let staff = app.staff_token().await;
    let dead = Receiver::start().await;
    dead.delay(Duration::from_secs(30));
    let healthy = Receiver::start().await;
    let (dead_id, _) = hook(&app, &staff, &dead.url("/dead"), json!(["*"])).await;
    let (healthy_id, _) = hook(&app, &staff, &healthy.url("/ok"), json!(["*"])).await;

    let started = Instant::now();
    write_events(&app, 40).await;
    received(&healthy, 40, Duration::from_secs(15)).await;
    // 40 deliveries of 3 s, two at a time, would take the dead endpoint a minute.
    assert!(started.elapsed() < Duration::from_secs(15));
    let mut most = 0;
    for _ in 0..20 {
        most = most.max(in_flight(&app, dead_id).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        (1..=2).contains(&most),
        "{most} deliveries to the dead endpoint at once"
    );
    assert!(
        dead.received().len() <= 6,
        "{} sent to the dead endpoint",
        dead.received().len()
    );
    // A job of another kind runs meanwhile.
    let job = emporium::email::job::enqueue(
        &app.state.db,
        emporium::email::PASSWORD_RESET
            .render(
                "someone@example.com",
                &[("shop", "S"), ("email", "e"), ("token", "t")],
            )
            .expect("message"),
    )
    .await
    .expect("queued");
    let finished = eventually(Duration::from_secs(5), || async {
        let row = emporium::jobs::job::Entity::find_by_id(job)
            .one(&app.state.db)
            .await
            .expect("job")
            .expect("stored");
        row.finished_at.is_some() || row.attempts > 0
    })
    .await;
    assert!(finished, "a job waited behind the dead endpoint");
    // The dead endpoint's failures are recorded as they time out.
    let timed_out = eventually(Duration::from_secs(10), || async {
        deliveries_of(&app, dead_id)
            .await
            .iter()
            .any(|d| d.last_error.as_deref() == Some("No answer within 3 s.") && d.attempts == 1)
    })
    .await;
    assert!(timed_out);
    let all_delivered = eventually(Duration::from_secs(5), || async {
        deliveries_of(&app, healthy_id)
            .await
            .iter()
            .all(|d| d.status == DeliveryStatus::Delivered)
    })
    .await;
    let unfinished: Vec<_> = deliveries_of(&app, healthy_id)
        .await
        .into_iter()
        .filter(|d| d.status != DeliveryStatus::Delivered)
        .collect();
    assert!(all_delivered, "{unfinished:?}");
}

#[tokio::test]
async fn two_nodes_on_one_database_send_each_event_once_within_the_endpoint_limit() {
    let a = app_with(&[]).await;
    let b = spawn(Spawn {
        settings: vec![("EMPORIUM_WEBHOOK_ALLOW_HOSTS", "127.0.0.1".to_owned())],
        database: Some(TestDatabase::shared(a.db_url())),
        ..Default::default()
    })
    .await;
    let staff = a.staff_token().await;
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(50));
    let (id, _) = hook(&a, &staff, &receiver.url("/hook"), json!(["*"])).await;
    write_events(&a, 60).await;
    write_events(&b, 60).await;
    let got = received(&receiver, 120, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| r.header("emporium-event-id").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 120);
    assert_eq!(receiver.received().len(), 120, "an event was sent twice");
    assert!(
        receiver.most_at_once() <= 2,
        "{} at once",
        receiver.most_at_once()
    );
    assert_eq!(deliveries_of(&a, id).await.len(), 120);
}

#[tokio::test]
async fn a_receiver_slower_than_ten_seconds_has_failed_and_a_dead_workers_claim_runs_out() {
    let app = app_with(&[]).await;
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    let (id, _) = hook(&app, &staff, &receiver.url("/hook"), json!(["*"])).await;

    // A delivery claimed by a worker that died: its lease ran out, so it is sent again.
    write_events(&app, 1).await;
    received(&receiver, 1, Duration::from_secs(10)).await;
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(Utc::now()))
        .col_expr(
            delivery::Column::LockedUntil,
            Expr::value(Utc::now() - chrono::TimeDelta::seconds(1)),
        )
        .filter(delivery::Column::EndpointId.eq(id))
        .exec(&app.state.db)
        .await
        .expect("a lapsed claim");
    let got = received(&receiver, 2, Duration::from_secs(10)).await;
    assert_eq!(
        got[0].header("emporium-event-id"),
        got[1].header("emporium-event-id")
    );

    // The default timeout: ten seconds, then the attempt has failed.
    receiver.delay(Duration::from_secs(12));
    let started = Instant::now();
    let (status, ping) = app
        .post_empty(&format!("/api/webhooks/{id}/ping/"), Some(&staff))
        .await;
    let waited = started.elapsed();
    assert_eq!(status, 200, "{ping}");
    assert_eq!(ping["status"], "failed");
    assert_eq!(ping["last_error"], "No answer within 10 s.");
    assert_eq!(ping["last_status_code"], serde_json::Value::Null);
    let took = ping["duration_ms"].as_i64().expect("duration");
    assert!((10_000..11_000).contains(&took), "{took} ms");
    assert!(
        waited < Duration::from_secs(12),
        "answered after {waited:?}"
    );
}

#[tokio::test]
async fn endpoints_at_their_limit_leave_the_free_slots_to_the_others() {
    let app = app_with(&[("EMPORIUM_WEBHOOK_TIMEOUT", "5s")]).await;
    let staff = app.staff_token().await;
    // Three slow endpoints that do answer 200 hold six of the eight slots for a long while.
    let slow = [
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    ];
    for receiver in &slow {
        receiver.delay(Duration::from_secs(2));
        hook(&app, &staff, &receiver.url("/slow"), json!(["*"])).await;
    }
    let healthy = Receiver::start().await;
    hook(&app, &staff, &healthy.url("/ok"), json!(["*"])).await;
    let started = Instant::now();
    write_events(&app, 20).await;
    received(&healthy, 20, Duration::from_secs(8)).await;
    assert!(started.elapsed() < Duration::from_secs(8));
}

#[tokio::test]
async fn a_full_batch_for_many_endpoints_is_dispatched_in_one_pass() {
    // No worker: the test runs the dispatcher's pass itself.
    let app = node_without_worker().await;
    let staff = app.staff_token().await;
    for n in 0..30 {
        hook(
            &app,
            &staff,
            &format!("https://1.1.1.1/hook/{n}"),
            json!(["*"]),
        )
        .await;
    }
    write_events(&app, 200).await;
    // 6,000 deliveries: more bound parameters in one statement than SQLite takes.
    let dispatched = emporium::webhooks::dispatch::dispatch(&app.state.db)
        .await
        .expect("dispatched");
    assert_eq!(dispatched, 200);
    let made = delivery::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(made, 6_000);
    assert_eq!(
        emporium::webhooks::dispatch::dispatch(&app.state.db)
            .await
            .expect("second pass"),
        0,
        "every event was marked"
    );
}
