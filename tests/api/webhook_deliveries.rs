//! Webhook deliveries end to end, against a real HTTP receiver: an event is delivered signed as
//! Stripe signs (checked with the stripe library's own `verify_header`), failures are retried on
//! the schedule and logged, nothing is sent to an address that resolves inside or followed
//! through a redirect, a manual retry and a ping answer with their delivery, twenty failures in
//! a row turn an endpoint off and mail staff, and turning it on sends what waited.

use std::time::Duration;

use chrono::Utc;
use emporium::events::service::{Resource, events_of};
use emporium::webhooks::delivery::{self, DeliveryStatus};
use emporium::webhooks::endpoint;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::product;
use crate::helpers::receiver::{Received, Receiver};
use crate::helpers::{Spawn, TestApp, eventually, spawn};

const WEBHOOKS: &str = "/api/webhooks/";

pub async fn app_with(extra: &[(&'static str, &str)]) -> TestApp {
    let mut settings = vec![("EMPORIUM_WEBHOOK_ALLOW_HOSTS", "127.0.0.1".to_owned())];
    settings.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    spawn(Spawn {
        settings,
        ..Default::default()
    })
    .await
}

/// An application with the receivers' host allowed and no worker: nothing is dispatched or
/// sent unless the test does it.
pub async fn node_without_worker() -> TestApp {
    spawn(Spawn {
        settings: vec![("EMPORIUM_WEBHOOK_ALLOW_HOSTS", "127.0.0.1".to_owned())],
        no_worker: true,
        ..Default::default()
    })
    .await
}

/// Registers an endpoint: its id and secret.
pub async fn hook(app: &TestApp, staff: &str, url: &str, events: Value) -> (i64, String) {
    let (status, body) = app
        .post(WEBHOOKS, Some(staff), json!({"url": url, "events": events}))
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_i64().expect("id"),
        body["secret"].as_str().expect("secret").to_owned(),
    )
}

/// The deliveries log of an endpoint (`query` like `?status=pending`).
pub async fn log(app: &TestApp, staff: &str, id: i64, query: &str) -> Vec<Value> {
    let (status, body) = app
        .get_as(&format!("{WEBHOOKS}{id}/deliveries/{query}"), Some(staff))
        .await;
    assert_eq!(status, 200, "{body}");
    body["results"].as_array().expect("results").clone()
}

pub async fn deliveries_of(app: &TestApp, endpoint_id: i64) -> Vec<delivery::Model> {
    delivery::Entity::find()
        .filter(delivery::Column::EndpointId.eq(endpoint_id))
        .all(&app.state.db)
        .await
        .expect("deliveries")
}

async fn stored_endpoint(app: &TestApp, id: i64) -> endpoint::Model {
    endpoint::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("stored")
}

/// Waits until the receiver has `n` requests (at most `limit`), then returns them.
pub async fn received(receiver: &Receiver, n: usize, limit: Duration) -> Vec<Received> {
    let arrived = eventually(limit, || async { receiver.received().len() >= n }).await;
    let got = receiver.received();
    assert!(arrived, "{} of {n} requests arrived", got.len());
    got
}

/// What the stripe library's `WebhookSignature.verify_header` says of `body` with `header`
/// under `secret`.
pub fn stripe_verifies(body: &str, header: &str, secret: &str) -> bool {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, stripe\n\
             try:\n    stripe.WebhookSignature.verify_header(sys.stdin.read(), sys.argv[1], sys.argv[2], 300)\n\
             except stripe.SignatureVerificationError:\n    sys.exit(3)",
            header,
            secret,
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (with the stripe library: pip install stripe)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write");
    let status = child.wait().expect("python3 finishes");
    match status.code() {
        Some(0) => true,
        Some(3) => false,
        other => panic!("the stripe library could not be run ({other:?}): pip install stripe"),
    }
}

#[tokio::test]
async fn an_event_is_delivered_signed_as_stripe_signs_and_stripes_library_verifies_it() {
    let app = app_with(&[]).await;
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    let (id, secret) = hook(
        &app,
        &staff,
        &receiver.url("/hook"),
        json!(["product.created"]),
    )
    .await;

    let product_id = product(&app, &staff, "Lamp", "12.50", 3).await;
    let got = received(&receiver, 1, Duration::from_secs(10)).await;
    let request = &got[0];
    assert_eq!(request.path, "/hook");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("emporium-event-type"), "product.created");
    let event = request.json();
    assert_eq!(event["type"], "product.created");
    assert_eq!(event["data"]["id"], product_id);
    assert_eq!(event["sequence"], 1);
    assert_eq!(
        request.header("emporium-event-id"),
        event["id"].as_str().expect("id")
    );

    let signature = request.header("emporium-signature");
    assert!(
        stripe_verifies(&request.body, signature, &secret),
        "{signature}"
    );
    assert!(!stripe_verifies(
        &request.body.replace("Lamp", "Lamb"),
        signature,
        &secret
    ));
    assert!(!stripe_verifies(
        &request.body,
        signature,
        "whsec_not_the_secret"
    ));

    // The log says so; an event type it does not subscribe to is not sent.
    assert!(
        eventually(Duration::from_secs(5), || async {
            log(&app, &staff, id, "?status=delivered").await.len() == 1
        })
        .await
    );
    let entry = &log(&app, &staff, id, "").await[0];
    assert_eq!(entry["event_id"], event["id"]);
    assert_eq!(entry["event_type"], "product.created");
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["last_status_code"], 200);
    assert_eq!(entry["last_error"], Value::Null);
    assert_eq!(entry["next_attempt_at"], Value::Null);
    let (status, _) = app
        .patch(
            &format!("/api/products/{product_id}/"),
            Some(&staff),
            json!({"name": "Lamp 2"}),
        )
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "product.updated is not subscribed to"
    );

    // After a rotation one header carries both signatures: either secret verifies it.
    let (status, rotated) = app
        .post_empty(&format!("{WEBHOOKS}{id}/rotate-secret/"), Some(&staff))
        .await;
    assert_eq!(status, 200);
    let new_secret = rotated["secret"].as_str().expect("secret");
    product(&app, &staff, "Desk", "80.00", 1).await;
    let got = received(&receiver, 2, Duration::from_secs(10)).await;
    let header = got[1].header("emporium-signature");
    assert_eq!(header.matches("v1=").count(), 2, "{header}");
    assert!(stripe_verifies(&got[1].body, header, new_secret));
    assert!(stripe_verifies(&got[1].body, header, &secret));
}

#[tokio::test]
async fn a_failing_receiver_is_retried_on_the_schedule_and_the_log_says_why() {
    let app = app_with(&[]).await;
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let (id, _) = hook(&app, &staff, &receiver.url("/hook"), json!(["*"])).await;
    let before = Utc::now();
    product(&app, &staff, "Lamp", "12.50", 3).await;
    received(&receiver, 1, Duration::from_secs(10)).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            deliveries_of(&app, id)
                .await
                .iter()
                .any(|d| d.attempts == 1)
        })
        .await
    );
    let pending = log(&app, &staff, id, "?status=pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    let entry = &pending[0];
    assert_eq!(entry["attempts"], 1);
    assert_eq!(entry["last_status_code"], 500);
    assert_eq!(entry["last_error"], "The receiver answered 500.");
    let next: chrono::DateTime<Utc> = entry["next_attempt_at"]
        .as_str()
        .expect("next attempt")
        .parse()
        .expect("a time");
    let wait = (next - before).num_seconds();
    assert!(
        (50..=70).contains(&wait),
        "retried {wait} s later, not about a minute"
    );
    // Staff retry it by hand and it fails again: it keeps its place in the schedule.
    let delivery_id = entry["id"].as_i64().expect("id");
    let (status, again) = app
        .post_empty(
            &format!("{WEBHOOKS}{id}/deliveries/{delivery_id}/retry/"),
            Some(&staff),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "pending");
    assert_eq!(again["attempts"], 2);
    assert_eq!(again["next_attempt_at"], entry["next_attempt_at"]);
    received(&receiver, 2, Duration::from_secs(5)).await;
    assert!(log(&app, &staff, id, "?status=delivered").await.is_empty());
    let (status, body) = app
        .get_as(
            &format!("{WEBHOOKS}{id}/deliveries/?status=lost"),
            Some(&staff),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["status"][0]
            .as_str()
            .expect("message")
            .contains("lost"),
        "{body}"
    );

    // Its time comes (moved forward here) and the receiver is back: delivered on the second try.
    receiver.answer(204);
    delivery::Entity::update_many()
        .col_expr(delivery::Column::NextAttemptAt, Expr::value(Utc::now()))
        .filter(delivery::Column::EndpointId.eq(id))
        .exec(&app.state.db)
        .await
        .expect("due now");
    let got = received(&receiver, 3, Duration::from_secs(10)).await;
    assert_eq!(
        got[0].header("emporium-event-id"),
        got[2].header("emporium-event-id")
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            deliveries_of(&app, id).await[0].status == DeliveryStatus::Delivered
        })
        .await
    );
    let stored = &deliveries_of(&app, id).await[0];
    assert_eq!((stored.attempts, stored.last_status_code), (3, Some(204)));
    assert_eq!(stored_endpoint(&app, id).await.consecutive_failures, 0);
}

#[tokio::test]
async fn nothing_is_sent_to_a_name_that_now_resolves_inside_nor_through_a_redirect() {
    let app = app_with(&[]).await;
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    // Registered while it was public; now its name is the loopback (as a DNS change would do).
    let (inside, _) = hook(&app, &staff, "https://1.1.1.1/hook", json!(["*"])).await;
    endpoint::Entity::update_many()
        .col_expr(
            endpoint::Column::Url,
            Expr::value(format!("https://localhost:{}/hook", receiver.addr.port())),
        )
        .filter(endpoint::Column::Id.eq(inside))
        .exec(&app.state.db)
        .await
        .expect("moved inside");
    let redirecting = Receiver::start().await;
    redirecting.answer(302);
    let (redirected, _) = hook(&app, &staff, &redirecting.url("/hook"), json!(["*"])).await;

    product(&app, &staff, "Lamp", "12.50", 3).await;
    received(&redirecting, 1, Duration::from_secs(10)).await;
    let settled = eventually(Duration::from_secs(10), || async {
        let a = deliveries_of(&app, inside).await;
        let b = deliveries_of(&app, redirected).await;
        a.iter().chain(&b).all(|d| d.attempts == 1) && !a.is_empty() && !b.is_empty()
    })
    .await;
    assert!(settled);
    assert!(
        receiver.received().is_empty(),
        "a request reached the inside address"
    );
    let refused = &deliveries_of(&app, inside).await[0];
    let error = refused.last_error.clone().unwrap_or_default();
    assert!(error.starts_with("Not sent: localhost is "), "{error}");
    assert!(error.contains("a loopback address"), "{error}");
    assert_eq!(refused.last_status_code, None);
    assert_eq!(
        refused.status,
        DeliveryStatus::Pending,
        "retried: DNS may change back"
    );
    let moved = &deliveries_of(&app, redirected).await[0];
    assert_eq!(moved.last_status_code, Some(302));
    assert_eq!(
        moved.last_error.as_deref(),
        Some("The receiver answered 302; redirects are not followed.")
    );
    let paths: Vec<String> = redirecting
        .received()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, ["/hook"], "the redirect was not followed");
}

#[tokio::test]
async fn a_ping_and_a_manual_retry_send_now_and_answer_with_the_delivery() {
    let app = app_with(&[]).await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let receiver = Receiver::start().await;
    let (id, secret) = hook(&app, &staff, &receiver.url("/hook"), json!(["order.paid"])).await;

    let (status, ping) = app
        .post_empty(&format!("{WEBHOOKS}{id}/ping/"), Some(&staff))
        .await;
    assert_eq!(status, 200, "{ping}");
    assert_eq!(ping["event_type"], "ping");
    assert_eq!(ping["status"], "delivered");
    assert_eq!(ping["attempts"], 1);
    assert_eq!(ping["last_status_code"], 200);
    let got = receiver.received();
    assert_eq!(got.len(), 1, "sent before the answer");
    let body = got[0].json();
    assert_eq!(body["type"], "ping");
    assert_eq!(body["id"], ping["event_id"]);
    assert_eq!(body["data"]["webhook_id"], id);
    assert!(stripe_verifies(
        &got[0].body,
        got[0].header("emporium-signature"),
        &secret
    ));

    // Again now, though it was delivered: the same event id, a second attempt.
    let delivery_id = ping["id"].as_i64().expect("id");
    let retry = format!("{WEBHOOKS}{id}/deliveries/{delivery_id}/retry/");
    let (status, again) = app.post_empty(&retry, Some(&staff)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["attempts"].as_i64(), again["status"].as_str()),
        (Some(2), Some("delivered"))
    );
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].header("emporium-event-id"),
        got[0].header("emporium-event-id")
    );

    // A failed retry of a delivered delivery leaves it delivered, and says why.
    receiver.answer(503);
    let (_, failed) = app.post_empty(&retry, Some(&staff)).await;
    assert_eq!(failed["status"], "delivered");
    assert_eq!(failed["last_status_code"], 503);
    assert_eq!(stored_endpoint(&app, id).await.consecutive_failures, 1);

    // Who may, and what exists.
    let (status, _) = app.post_empty(&retry, Some(&customer)).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .post_empty(&format!("{WEBHOOKS}{id}/ping/"), Some(&customer))
        .await;
    assert_eq!(status, 403);
    let (other, _) = hook(&app, &staff, "https://1.1.1.1/other", json!(["*"])).await;
    for path in [
        format!("{WEBHOOKS}{other}/deliveries/{delivery_id}/retry/"),
        format!("{WEBHOOKS}{id}/deliveries/999999/retry/"),
        format!("{WEBHOOKS}{id}/deliveries/x/retry/"),
        format!("{WEBHOOKS}999999/ping/"),
    ] {
        let (status, body) = app.post_empty(&path, Some(&staff)).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = app
        .get_as(&format!("{WEBHOOKS}999999/deliveries/"), Some(&staff))
        .await;
    assert_eq!(status, 404);

    // While a worker holds it, a retry is refused and sends nothing.
    delivery::Entity::update_many()
        .col_expr(
            delivery::Column::LockedUntil,
            Expr::value(Utc::now() + chrono::TimeDelta::minutes(1)),
        )
        .filter(delivery::Column::Id.eq(delivery_id))
        .exec(&app.state.db)
        .await
        .expect("held");
    let (status, body) = app.post_empty(&retry, Some(&staff)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn twenty_failures_in_a_row_turn_an_endpoint_off_and_turning_it_on_sends_what_waited() {
    let app = app_with(&[]).await;
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let (id, _) = hook(
        &app,
        &staff,
        &receiver.url("/hook"),
        json!(["product.created"]),
    )
    .await;
    product(&app, &staff, "Lamp", "12.50", 3).await;
    received(&receiver, 1, Duration::from_secs(10)).await;
    assert!(
        eventually(Duration::from_secs(5), || async {
            stored_endpoint(&app, id).await.consecutive_failures == 1
        })
        .await
    );
    // Pings count: 19 more failures.
    for n in 2..=20 {
        let (status, ping) = app
            .post_empty(&format!("{WEBHOOKS}{id}/ping/"), Some(&staff))
            .await;
        assert_eq!(status, 200);
        assert_eq!(ping["status"], "failed", "a ping is tried once");
        let stored = stored_endpoint(&app, id).await;
        assert_eq!(stored.consecutive_failures, n);
        assert_eq!(stored.is_active, n < 20, "after {n} failures");
    }
    let (_, view) = app.get_as(&format!("{WEBHOOKS}{id}/"), Some(&staff)).await;
    assert_eq!(view["is_active"], false);
    let reason = view["disabled_reason"].as_str().expect("a reason");
    assert!(reason.contains("20 failed attempts"), "{reason}");
    assert_eq!(
        staff_mails(&app).await,
        1,
        "one mail per staff member, once"
    );
    // A 21st failure does not mail again.
    let (_, _) = app
        .post_empty(&format!("{WEBHOOKS}{id}/ping/"), Some(&staff))
        .await;
    assert_eq!(staff_mails(&app).await, 1);

    // While it is off, new events are not for it; what was pending waits.
    let desk = product(&app, &staff, "Desk", "80.00", 1).await;
    let dispatched = eventually(Duration::from_secs(10), || async {
        events_of(&app.state.db, &Resource::Product(desk))
            .await
            .expect("events")
            .iter()
            .all(|e| e.dispatched_at.is_some())
    })
    .await;
    assert!(dispatched, "the Desk's event was dispatched");
    let created: Vec<delivery::Model> = deliveries_of(&app, id)
        .await
        .into_iter()
        .filter(|d| d.event_type == "product.created")
        .collect();
    assert_eq!(
        created.len(),
        1,
        "the Desk's event is not for an endpoint that is off"
    );
    assert_eq!(created[0].status, DeliveryStatus::Pending);

    receiver.answer(200);
    let (status, view) = app
        .patch(
            &format!("{WEBHOOKS}{id}/"),
            Some(&staff),
            json!({"is_active": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["disabled_reason"], Value::Null);
    let lamp = created[0].event_id.clone();
    assert!(
        eventually(Duration::from_secs(10), || async {
            receiver
                .received()
                .iter()
                .filter(|r| r.header("emporium-event-id") == lamp)
                .count()
                == 2
        })
        .await,
        "the pending delivery was sent when the endpoint came back"
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            deliveries_of(&app, id)
                .await
                .iter()
                .all(|d| d.status != DeliveryStatus::Pending)
        })
        .await
    );
}

#[tokio::test]
async fn failures_at_once_turn_the_endpoint_off_once_with_one_mail() {
    let app = app_with(&[]).await;
    let staff = app.staff_token().await;
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let (id, _) = hook(&app, &staff, &receiver.url("/hook"), json!(["order.paid"])).await;
    endpoint::Entity::update_many()
        .col_expr(endpoint::Column::ConsecutiveFailures, Expr::value(16))
        .filter(endpoint::Column::Id.eq(id))
        .exec(&app.state.db)
        .await
        .expect("16 failures so far");
    let path = format!("{WEBHOOKS}{id}/ping/");
    let answers =
        crate::helpers::burst(4, |_| app.client.post(app.url(&path)).bearer_auth(&staff)).await;
    assert_eq!(crate::helpers::count(&answers, 200), 4, "{answers:?}");
    let stored = stored_endpoint(&app, id).await;
    assert_eq!(stored.consecutive_failures, 20);
    assert!(!stored.is_active);
    assert_eq!(staff_mails(&app).await, 1);
}

/// Queued mails that tell staff an endpoint was turned off.
async fn staff_mails(app: &TestApp) -> usize {
    emporium::jobs::job::Entity::find()
        .all(&app.state.db)
        .await
        .expect("jobs")
        .iter()
        .filter(|job| job.kind.as_str() == "email.send" && job.payload.contains("was turned off"))
        .count()
}
