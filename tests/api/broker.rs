//! The events broker, against real ones: every committed event reaches NATS JetStream (or
//! RabbitMQ) once the broker confirmed it, with its type as subject or routing key, its id as
//! `Nats-Msg-Id` or `message_id`, the event as its body, and each resource's events in order —
//! also through an outage, a crash between publishing and marking, and two workers at once. A
//! change rolled back publishes nothing.
//!
//! The tests need `EMPORIUM_TEST_NATS` (`nats://127.0.0.1:4222`) or `EMPORIUM_TEST_AMQP`
//! (`amqp://guest:guest@127.0.0.1:5672/%2f`), or `nats-server` for a private one: like the
//! suite's other service tests they are ignored by a plain `cargo test`, and fail under
//! `--include-ignored` when their service is not there.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use emporium::events::event;
use emporium::events::views::EventView;
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::fixtures::{add_to_cart, address, place_order, product};
use crate::helpers::{Spawn, TestApp, TestDatabase, eventually, service, spawn};
use support::{PrivateNats, RabbitQueue, Reader, Received};

/// An application (with its worker) that publishes to `url`, plus `extra` settings.
async fn publishing_to(url: &str, database: Option<TestDatabase>) -> TestApp {
    spawn(Spawn {
        settings: vec![
            ("EMPORIUM_EVENTS_URL", url.to_owned()),
            ("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", "1s".to_owned()),
            ("EMPORIUM_OUTGOING_TIMEOUT", "2s".to_owned()),
        ],
        database,
        ..Spawn::default()
    })
    .await
}

/// Every event of `app`'s database, in the order they were written.
async fn all_events(app: &TestApp) -> Vec<event::Model> {
    event::Entity::find()
        .order_by_asc(event::Column::Position)
        .all(&app.state.db)
        .await
        .expect("events")
}

fn ids_of(rows: &[event::Model]) -> HashSet<String> {
    rows.iter().map(|e| e.id.clone()).collect()
}

/// Waits until the broker confirmed every event written so far.
async fn all_published(app: &TestApp, limit: Duration) {
    let done = eventually(limit, || async {
        all_events(app)
            .await
            .iter()
            .all(|e| e.published_at.is_some())
    })
    .await;
    assert!(done, "every event is published within {limit:?}");
}

/// A product of a name no other test uses, then `updates` price changes: events
/// `product.created` and `product.updated` × `updates` of one resource.
async fn product_with_updates(app: &TestApp, staff: &str, updates: i64) -> i64 {
    let name = format!("Lamp {}", uuid::Uuid::new_v4().simple());
    let id = product(app, staff, &name, "10.00", 5).await;
    for n in 1..=updates {
        let path = format!("/api/products/{id}/");
        let (status, body) = app
            .patch(
                &path,
                Some(staff),
                json!({"price": format!("{}.00", 10 + n)}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    id
}

/// Checks each resource's messages come in sequence order, and every id at least once; the
/// count of each id.
fn in_order_per_resource(received: &[Received], rows: &[event::Model]) -> HashMap<String, usize> {
    let resource_of: HashMap<&str, &str> = rows
        .iter()
        .map(|e| (e.id.as_str(), e.resource.as_str()))
        .collect();
    let mut last: HashMap<&str, i64> = HashMap::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for message in received {
        let resource = resource_of[message.id.as_str()];
        let sequence = message.sequence();
        let before = last.get(resource).copied().unwrap_or(0);
        // A copy (republished after a crash) may repeat one; it never goes back further.
        assert!(
            sequence == before + 1 || sequence <= before,
            "{resource}: {sequence} after {before}"
        );
        last.insert(resource, sequence.max(before));
        *counts.entry(message.id.clone()).or_default() += 1;
    }
    for row in rows {
        assert!(counts.contains_key(&row.id), "{} was published", row.id);
    }
    counts
}

#[tokio::test]
#[ignore = "needs NATS: set EMPORIUM_TEST_NATS=nats://… and pass --include-ignored"]
async fn committed_events_reach_jetstream_once_in_order_with_their_id_type_and_body() {
    let url = service("EMPORIUM_TEST_NATS");
    let mut reader = Reader::from_now(&url).await;
    let app = publishing_to(&url, None).await;
    let staff = app.staff_token().await;
    product_with_updates(&app, &staff, 3).await;
    all_published(&app, Duration::from_secs(20)).await;

    let rows = all_events(&app).await;
    let received = reader
        .collect(
            &ids_of(&rows),
            Duration::from_secs(20),
            Duration::from_millis(500),
        )
        .await;
    let counts = in_order_per_resource(&received, &rows);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let by_id: HashMap<&str, &Received> = received.iter().map(|r| (r.id.as_str(), r)).collect();
    for row in &rows {
        let message = by_id[row.id.as_str()];
        assert_eq!(
            message.subject,
            format!("emporium.{}", row.event_type.as_str())
        );
        let view = serde_json::to_value(EventView::from(row)).expect("the view");
        assert_eq!(message.body, view);
    }
    let product_types: Vec<String> = received
        .iter()
        .filter(|r| r.subject.starts_with("emporium.product."))
        .map(|r| r.subject.clone())
        .collect();
    assert_eq!(
        product_types,
        [
            "emporium.product.created",
            "emporium.product.updated",
            "emporium.product.updated",
            "emporium.product.updated"
        ]
    );
}

#[tokio::test]
#[ignore = "needs NATS: set EMPORIUM_TEST_NATS=nats://… and pass --include-ignored"]
async fn a_checkout_rolled_back_publishes_nothing() {
    let url = service("EMPORIUM_TEST_NATS");
    let mut reader = Reader::from_now(&url).await;
    let app = publishing_to(&url, None).await;
    let staff = app.staff_token().await;
    let name = format!("Last boot {}", uuid::Uuid::new_v4().simple());
    let boot = product(&app, &staff, &name, "10.00", 1).await;
    let (first, second) = (app.customer_token().await, app.customer_token().await);
    for token in [&first, &second] {
        add_to_cart(&app, token, json!({"product_id": boot, "quantity": 1})).await;
    }
    let (status, _) = place_order(&app, &first, json!({"shipping_address": address()})).await;
    assert_eq!(status, 201);
    // The last one is gone: this checkout is rolled back whole.
    let (status, _) = place_order(&app, &second, json!({"shipping_address": address()})).await;
    assert_eq!(status, 409);
    all_published(&app, Duration::from_secs(20)).await;

    let rows = all_events(&app).await;
    let received = reader
        .collect(
            &ids_of(&rows),
            Duration::from_secs(20),
            Duration::from_secs(1),
        )
        .await;
    in_order_per_resource(&received, &rows);
    // One order of this boot reached the broker: the one that committed.
    let orders: Vec<&Received> = received
        .iter()
        .filter(|r| r.subject.starts_with("emporium.order."))
        .filter(|r| r.body["data"]["items"][0]["product_name"] == name.as_str())
        .collect();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(received.len(), rows.len(), "only what was written");
}

#[tokio::test]
#[ignore = "needs NATS: set EMPORIUM_TEST_NATS=nats://… and pass --include-ignored"]
async fn an_event_published_again_after_a_crash_is_dropped_by_jetstream() {
    let url = service("EMPORIUM_TEST_NATS");
    let mut reader = Reader::from_now(&url).await;
    let app = publishing_to(&url, None).await;
    let staff = app.staff_token().await;
    product_with_updates(&app, &staff, 1).await;
    all_published(&app, Duration::from_secs(20)).await;
    // The process died after the broker's ack and before marking: published_at is unset.
    let rows = all_events(&app).await;
    let again = rows.last().expect("an event").id.clone();
    event::Entity::update_many()
        .col_expr(
            event::Column::PublishedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .filter(event::Column::Id.eq(&again))
        .exec(&app.state.db)
        .await
        .expect("unmarked");
    all_published(&app, Duration::from_secs(20)).await;

    let received = reader
        .collect(
            &ids_of(&rows),
            Duration::from_secs(20),
            Duration::from_secs(1),
        )
        .await;
    let counts = in_order_per_resource(&received, &rows);
    assert_eq!(counts[&again], 1, "JetStream kept one copy");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}

#[tokio::test]
#[ignore = "needs nats-server (a private one is started): pass --include-ignored"]
async fn a_broker_outage_keeps_the_shop_ready_and_the_events_arrive_once_it_is_back() {
    let mut nats = PrivateNats::start().await;
    let app = publishing_to(&nats.url(), None).await;
    let staff = app.staff_token().await;
    let lamp = product_with_updates(&app, &staff, 2).await;
    all_published(&app, Duration::from_secs(20)).await;

    nats.kill();
    for n in 3..=6 {
        let path = format!("/api/products/{lamp}/");
        let (status, _) = app
            .patch(
                &path,
                Some(&staff),
                json!({"price": format!("{}.00", 10 + n)}),
            )
            .await;
        assert_eq!(status, 200, "the shop keeps selling");
    }
    product_with_updates(&app, &staff, 1).await;
    let mut seen = Value::Null;
    let mut reported = false;
    for _ in 0..150 {
        let (status, body) = app.get("/ready/").await;
        assert_eq!(status, 200, "a broker down is no reason for 503: {body}");
        seen = body;
        reported = seen["checks"]["broker"] == "unavailable"
            && seen["events_unpublished"].as_u64() >= Some(6);
        if reported {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reported,
        "/ready/ reports the outage and the backlog: {seen}"
    );
    assert_eq!(seen["checks"]["database"], "ok");
    assert!(
        seen["oldest_unpublished_seconds"].as_f64() >= Some(0.0),
        "{seen}"
    );

    nats.restart().await;
    all_published(&app, Duration::from_secs(60)).await;
    let (status, body) = app.get("/ready/").await;
    assert_eq!((status, &body["checks"]["broker"]), (200, &json!("ok")));
    assert_eq!(body["events_unpublished"], 0);

    let rows = all_events(&app).await;
    let mut reader = Reader::from_start(&nats.url()).await;
    let received = reader
        .collect(
            &ids_of(&rows),
            Duration::from_secs(20),
            Duration::from_secs(1),
        )
        .await;
    let counts = in_order_per_resource(&received, &rows);
    assert!(counts.values().all(|n| *n == 1), "once each: {counts:?}");
    let (_, metrics) = metrics_of(&app).await;
    assert!(metrics.contains("events_published_total"), "{metrics}");
    assert!(
        metrics.contains("events_unpublished_oldest_seconds 0"),
        "{metrics}"
    );
}

async fn metrics_of(app: &TestApp) -> (u16, String) {
    let response = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

#[tokio::test]
#[ignore = "needs NATS: set EMPORIUM_TEST_NATS=nats://… and pass --include-ignored"]
async fn two_workers_publish_each_resources_events_in_order_one_at_a_time() {
    let url = service("EMPORIUM_TEST_NATS");
    let mut reader = Reader::from_now(&url).await;
    let mut a = publishing_to(&url, None).await;
    let b = publishing_to(&url, Some(TestDatabase::shared(a.db_url()))).await;
    let staff = b.staff_token().await;
    let staff = staff.as_str();
    let ids = [
        product_with_updates(&a, staff, 0).await,
        product_with_updates(&b, staff, 0).await,
        product_with_updates(&a, staff, 0).await,
    ];
    // Both nodes write to the three products at once; halfway, one node stops.
    for round in 1..=8 {
        let writes = ids.iter().enumerate().map(|(i, id)| {
            let node = if round <= 4 && (round + i) % 2 == 0 {
                &a
            } else {
                &b
            };
            let path = format!("/api/products/{id}/");
            let price = format!("{}.00", 10 + round);
            async move {
                node.patch(&path, Some(staff), json!({ "price": price }))
                    .await
            }
        });
        for (status, body) in futures_util::future::join_all(writes).await {
            assert_eq!(status, 200, "{body}");
        }
        if round == 4 {
            let _ = a.stop().await;
        }
    }
    all_published(&b, Duration::from_secs(30)).await;
    let holder = emporium::jobs::lease::holder(&b.state.db, "events.publish")
        .await
        .expect("lease");
    assert!(holder.is_some(), "the remaining worker holds the lease");

    let rows = all_events(&b).await;
    let received = reader
        .collect(
            &ids_of(&rows),
            Duration::from_secs(20),
            Duration::from_millis(500),
        )
        .await;
    in_order_per_resource(&received, &rows);
}

#[tokio::test]
#[ignore = "needs RabbitMQ: set EMPORIUM_TEST_AMQP=amqp://… and pass --include-ignored"]
async fn rabbitmq_gets_persistent_messages_routed_by_type_with_the_event_id() {
    let url = service("EMPORIUM_TEST_AMQP");
    let queue = RabbitQueue::bound(&url, &["product.*"]).await;
    let app = publishing_to(&url, None).await;
    let staff = app.staff_token().await;
    product_with_updates(&app, &staff, 2).await;
    all_published(&app, Duration::from_secs(20)).await;

    let rows: Vec<event::Model> = all_events(&app)
        .await
        .into_iter()
        .filter(|e| e.resource.starts_with("product:"))
        .collect();
    assert_eq!(rows.len(), 3);
    let deliveries = queue.collect(&ids_of(&rows), Duration::from_secs(20)).await;
    assert_eq!(deliveries.len(), rows.len(), "each event once");
    for (delivery, row) in deliveries.iter().zip(&rows) {
        let properties = &delivery.properties;
        assert_eq!(delivery.exchange.as_str(), "emporium");
        assert_eq!(delivery.routing_key.as_str(), row.event_type.as_str());
        assert_eq!(
            properties.message_id().as_ref().map(|m| m.as_str()),
            Some(row.id.as_str())
        );
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        assert_eq!(
            properties.content_type().as_ref().map(|c| c.as_str()),
            Some("application/json")
        );
        let body: Value = serde_json::from_slice(&delivery.data).expect("JSON");
        assert_eq!(
            body,
            serde_json::to_value(EventView::from(row)).expect("view")
        );
    }
}

#[test]
#[ignore = "needs NATS: set EMPORIUM_TEST_NATS=nats://… and pass --include-ignored"]
fn check_reaches_the_broker_and_never_prints_its_password() {
    let url = service("EMPORIUM_TEST_NATS");
    let dir = tempfile::tempdir().expect("dir");
    let ok = crate::cli::emporium(dir.path())
        .arg("check")
        .env("EMPORIUM_EVENTS_URL", &url)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.contains("broker: ok"), "{stdout}");

    let down = crate::cli::emporium(dir.path())
        .arg("check")
        .env("EMPORIUM_EVENTS_URL", "amqp://shop:hunter2@127.0.0.1:1/%2f")
        .env("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", "1s")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert_eq!(down.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broker"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_is_given_up_or_expires() {
    use emporium::jobs::lease;
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let db = &app.state.db;
    let minute = Duration::from_secs(60);
    assert!(
        lease::take(db, "test.loop", "a", minute)
            .await
            .expect("take")
    );
    assert!(
        !lease::take(db, "test.loop", "b", minute)
            .await
            .expect("take")
    );
    assert!(
        lease::take(db, "test.loop", "a", minute)
            .await
            .expect("renew")
    );
    lease::release(db, "test.loop", "a").await.expect("release");
    assert!(
        lease::take(db, "test.loop", "b", Duration::from_millis(300))
            .await
            .expect("take")
    );
    assert!(
        !lease::take(db, "test.loop", "a", minute)
            .await
            .expect("take")
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        lease::take(db, "test.loop", "a", minute)
            .await
            .expect("expired")
    );
    assert_eq!(
        lease::holder(db, "test.loop")
            .await
            .expect("holder")
            .as_deref(),
        Some("a")
    );
}
