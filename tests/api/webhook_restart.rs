//! A process killed with SIGKILL right after it committed an order loses nothing: the order's
//! event is in the outbox with the order, and the restarted process delivers it, with the same
//! id, signed.

use std::process::{Child, Stdio};
use std::time::Duration;

use emporium::events::service::{Resource, events_of};
use serde_json::json;

use crate::cli::emporium;
use crate::fixtures::{address, product};
use crate::helpers::receiver::Receiver;
use crate::helpers::{eventually, free_port};
use crate::webhook_deliveries::{hook, node_without_worker, received, stripe_verifies};

/// `emporium serve` (with its worker) on `database_url` at `port`, its loops polling every
/// `poll`.
fn serve(dir: &std::path::Path, database_url: &str, port: u16, poll: &str) -> Child {
    emporium(dir)
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("EMPORIUM_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "EMPORIUM_SECRET_KEY",
            "test-secret-key-that-is-long-enough-0123456789",
        )
        .env("EMPORIUM_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
        .env("EMPORIUM_JOB_POLL_INTERVAL", poll)
        .env("EMPORIUM_CACHE", "local")
        .env("EMPORIUM_MEDIA_ROOT", dir.join("media"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("emporium serve starts")
}

async fn wait_until_serving(client: &reqwest::Client, base: &str) {
    let up = eventually(Duration::from_secs(30), || async {
        client
            .get(format!("{base}/health/"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(up, "the server did not start");
}

#[tokio::test]
async fn an_order_committed_right_before_a_sigkill_is_delivered_after_the_restart() {
    // The test's own node sets the shop up; it runs no worker.
    let app = node_without_worker().await;
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    let (_, secret) = hook(
        &app,
        &staff,
        &receiver.url("/hook"),
        json!(["order.created"]),
    )
    .await;
    let product_id = product(&app, &staff, "Lamp", "12.50", 3).await;
    let buyer = app.customer_token().await;

    // The process that takes the order: its loops wait 30 s between passes, so the order's
    // event is not sent before the kill.
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), app.db_url(), port, "30s");
    let client = reqwest::Client::new();
    wait_until_serving(&client, &base).await;
    let added = client
        .post(format!("{base}/api/cart/add/"))
        .bearer_auth(&buyer)
        .json(&json!({"product_id": product_id, "quantity": 1}))
        .send()
        .await
        .expect("add");
    assert_eq!(added.status(), 200);
    let placed = client
        .post(format!("{base}/api/orders/create/"))
        .bearer_auth(&buyer)
        .json(&json!({"shipping_address": address()}))
        .send()
        .await
        .expect("order");
    assert_eq!(placed.status(), 201);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let order: serde_json::Value = placed.json().await.expect("the order");
    let order_id = order["id"].as_str().expect("id").to_owned();

    let events = events_of(&app.state.db, &Resource::Order(order_id.clone()))
        .await
        .expect("events");
    let created = events
        .iter()
        .find(|e| e.event_type.as_str() == "order.created")
        .expect("order.created was committed with the order");
    assert_eq!(created.dispatched_at, None, "not sent before the kill");
    assert!(receiver.received().is_empty());

    let mut child = serve(dir.path(), app.db_url(), port, "50ms");
    let got = received(&receiver, 1, Duration::from_secs(30)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(got[0].header("emporium-event-id"), created.id);
    assert_eq!(got[0].header("emporium-event-type"), "order.created");
    let body = got[0].json();
    assert_eq!(body["data"]["id"], order_id.as_str());
    assert!(stripe_verifies(
        &got[0].body,
        got[0].header("emporium-signature"),
        &secret
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "sent once");
}
