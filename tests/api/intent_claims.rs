//! However many create-intent calls arrive at once for one order, the provider is asked once —
//! counted at the Stripe and the Razorpay stand-ins — and every caller gets that one intent; a
//! claim left by a crashed request is taken over once it is older than the provider's timeout,
//! and a live one makes a late caller wait, then answer 503 with `Retry-After`.

use std::time::Duration;

use emporium::payments::{intents, payment, payment_claim};
use reqwest::Method;
use sea_orm::{EntityTrait, Set};
use serde_json::json;

use crate::fixtures::{Basket, Placed, create_intent, customer_order};
use crate::helpers::{Spawn, TestApp, burst, count, spawn};
use crate::razorpay_standin::Razorpay;
use crate::stripe_standin::Stripe;

async fn app_with(settings: Vec<(&'static str, String)>) -> TestApp {
    spawn(Spawn {
        settings,
        no_worker: true,
        ..Spawn::default()
    })
    .await
}

/// Ten create-intents for one order at once: every answer, and the one payment stored.
async fn ten_at_once(app: &TestApp, basket: Basket<'_>) {
    let staff = app.staff_token().await;
    let Placed { token, id, .. } = customer_order(app, &staff, basket).await;
    let answers = burst(10, |_| {
        app.request(Method::POST, "/api/payments/create-intent/", Some(&token))
            .json(&json!({"order_id": id}))
    });
    let answers = answers.await;
    assert_eq!(count(&answers, 201), 10, "{answers:?}");
    let payments = payment::Entity::find().all(&app.state.db).await.expect("q");
    assert_eq!(payments.len(), 1);
    for answer in &answers {
        assert_eq!(
            answer.body["payment_id"],
            json!(payments[0].id),
            "{answer:?}"
        );
        assert_eq!(
            answer.body["client_secret"],
            json!(payments[0].client_secret)
        );
    }
    assert!(
        payment_claim::Entity::find()
            .all(&app.state.db)
            .await
            .expect("q")
            .is_empty(),
        "the claim went with the payment"
    );
}

#[tokio::test]
async fn ten_parallel_create_intents_ask_stripe_once_and_all_get_its_intent() {
    let stripe = Stripe::start().await;
    stripe.set_delay(Some(Duration::from_millis(300)));
    let app = app_with(stripe.settings()).await;
    ten_at_once(&app, Basket::boots(1)).await;
    let creations = stripe
        .received()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/payment_intents")
        .count();
    assert_eq!(creations, 1);
}

#[tokio::test]
async fn ten_parallel_create_intents_ask_razorpay_once_and_all_get_its_order() {
    let rzp = Razorpay::start().await;
    rzp.set_delay(Some(Duration::from_millis(300)));
    let app = app_with(rzp.settings()).await;
    let kurta = Basket {
        name: "Kurta",
        price: "499.50",
        ..Basket::boots(1)
    };
    ten_at_once(&app, kurta).await;
    let creations = rzp
        .received()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/orders")
        .count();
    assert_eq!(
        creations, 1,
        "Razorpay has no idempotency key: ours is the guarantee"
    );
}

async fn claim(app: &TestApp, order_id: &str, age: Duration) {
    let at = emporium::time::now() - chrono::Duration::from_std(age).expect("age");
    payment_claim::Entity::insert(payment_claim::ActiveModel {
        order_id: Set(order_id.to_owned()),
        token: Set(uuid::Uuid::new_v4().to_string()),
        claimed_at: Set(at),
    })
    .exec_without_returning(&app.state.db)
    .await
    .expect("claim");
}

#[tokio::test]
async fn a_claim_left_by_a_crashed_request_is_taken_over_after_the_providers_timeout() {
    let stripe = Stripe::start().await;
    let app = app_with(stripe.settings()).await;
    let staff = app.staff_token().await;
    let Placed { token, id, .. } = customer_order(&app, &staff, Basket::boots(1)).await;
    let provider = emporium::payments::provider::Provider::from_settings(&app.state.settings);
    claim(
        &app,
        &id,
        intents::claim_ttl(&provider) + Duration::from_secs(1),
    )
    .await;
    let (status, body) = create_intent(&app, &token, &id, &[]).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(stripe.received().len(), 1);
    assert!(
        payment_claim::Entity::find()
            .all(&app.state.db)
            .await
            .expect("q")
            .is_empty()
    );
}

#[tokio::test]
async fn a_live_claim_makes_a_caller_wait_then_answer_503_with_retry_after() {
    let stripe = Stripe::start().await;
    let app = app_with(stripe.settings()).await;
    let staff = app.staff_token().await;
    let Placed { token, id, .. } = customer_order(&app, &staff, Basket::boots(1)).await;
    claim(&app, &id, Duration::from_secs(1)).await;
    let started = std::time::Instant::now();
    let response = app
        .request(Method::POST, "/api/payments/create-intent/", Some(&token))
        .json(&json!({"order_id": id}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    assert!(started.elapsed() >= intents::CLAIM_WAIT, "it waited first");
    assert!(stripe.received().is_empty(), "the provider was not asked");
    assert!(
        payment::Entity::find()
            .all(&app.state.db)
            .await
            .expect("q")
            .is_empty()
    );
}

#[tokio::test]
async fn a_failed_provider_call_releases_the_claim_for_the_next_call() {
    let stripe = Stripe::start().await;
    let mut settings = stripe.settings();
    settings.push(("EMPORIUM_OUTGOING_TIMEOUT", "1s".to_owned()));
    settings.push(("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", "1s".to_owned()));
    let app = app_with(settings).await;
    let staff = app.staff_token().await;
    let Placed { token, id, .. } = customer_order(&app, &staff, Basket::boots(1)).await;
    stripe.set_delay(Some(Duration::from_secs(2)));
    let (status, _) = create_intent(&app, &token, &id, &[]).await;
    assert_eq!(status, 503);
    stripe.set_delay(None);
    let (status, body) = create_intent(&app, &token, &id, &[]).await;
    assert_eq!(status, 201, "at once, not after the claim's TTL: {body}");
}
