//! Payments through Stripe's wire format, against the stand-in: the intent's request as Stripe
//! expects it, its webhooks, its error bodies, an unreachable API, the verification job when
//! the webhook is held back, and a refund.

use crate::helpers::run_job;
use emporium::jobs::Job;
use emporium::jobs::{JobContext, JobError, job};
use emporium::orders::order;
use emporium::payments::{payment, refunds, verify};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{Basket, Placed, create_intent, customer_order};
use crate::helpers::{Spawn, TestApp, spawn};
use crate::stripe_standin::Stripe;

async fn with_stripe(stripe: &Stripe) -> TestApp {
    spawn(Spawn {
        settings: stripe.settings(),
        no_worker: true,
        ..Spawn::default()
    })
    .await
}

/// A new customer's order of `quantity` items at `price`.
fn items(price: &str, quantity: i64) -> Basket<'_> {
    Basket {
        name: "Item",
        price,
        ..Basket::boots(quantity)
    }
}

async fn deliver(app: &TestApp, body: &[u8], signature: &str) -> u16 {
    app.request(Method::POST, "/api/payments/webhook/", None)
        .header("content-type", "application/json")
        .header("Stripe-Signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

async fn stored_payment(app: &TestApp, order_id: &str) -> payment::Model {
    payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("payment")
}

async fn order_status(app: &TestApp, id: &str) -> (String, String) {
    let row = order::Entity::find_by_id(id.to_owned())
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("order");
    (
        row.status.as_str().to_owned(),
        row.payment_status.as_str().to_owned(),
    )
}

async fn run(app: &TestApp, kind: &str) -> Vec<Result<(), JobError>> {
    let jobs = job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .all(&app.state.db)
        .await
        .expect("jobs");
    let mut outcomes = Vec::new();
    for job in jobs {
        let ctx = JobContext {
            state: app.state.clone(),
            job_id: job.id,
            attempt: 1,
        };
        let payload: Value = serde_json::from_str(&job.payload).expect("payload");
        outcomes.push(match kind {
            <verify::VerifyPayment as Job>::KIND => {
                run_job::<verify::VerifyPayment>(ctx, payload).await
            }
            _ => run_job::<refunds::RefundPayment>(ctx, payload).await,
        });
    }
    outcomes
}

#[tokio::test]
async fn an_intent_is_created_at_stripe_as_stripe_expects_and_paid_by_its_webhook() {
    let stripe = Stripe::start().await;
    let app = with_stripe(&stripe).await;
    let staff = app.staff_token().await;
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(&app, &staff, items("12.34", 2)).await;
    let (status, created) = create_intent(&app, &token, &order_id, &[]).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (&created["provider"], &created["amount"]),
        (&json!("stripe"), &json!("24.68"))
    );
    assert!(
        created["client_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("pi_"))
    );
    let calls = stripe.received();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        call.form.get("amount").map(String::as_str),
        Some("2468"),
        "minor units"
    );
    assert_eq!(
        call.form.get("currency").map(String::as_str),
        Some("usd"),
        "lower case"
    );
    assert_eq!(call.form.get("metadata[order_id]"), Some(&order_id));
    assert!(
        call.idempotency_key
            .as_deref()
            .is_some_and(|k| k.contains(&order_id))
    );
    // Again: the same intent, and Stripe is not asked twice.
    let (_, again) = create_intent(&app, &token, &order_id, &[]).await;
    assert_eq!(again["payment_id"], created["payment_id"]);
    assert_eq!(stripe.received().len(), 1);

    let payment = stored_payment(&app, &order_id).await;
    let body = stripe.event("payment_intent.succeeded", &payment.provider_ref);
    let forged =
        emporium::payments::signature::sign(b"whsec_other", chrono::Utc::now().timestamp(), &body);
    assert_eq!(deliver(&app, &body, &forged).await, 400);
    assert_eq!(order_status(&app, &order_id).await.0, "PENDING");
    assert_eq!(deliver(&app, &body, &Stripe::sign(&body)).await, 200);
    assert_eq!(
        order_status(&app, &order_id).await,
        ("PAID".to_owned(), "PAID".to_owned())
    );
    // The dummy's confirmation does not exist with Stripe.
    let (status, _) = app
        .post(
            &format!("/api/payments/{}/confirm/", payment.id),
            Some(&token),
            json!({"outcome": "succeeded"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn stripes_refusals_and_an_unreachable_stripe_are_answered_and_change_nothing() {
    let stripe = Stripe::start().await;
    let app = with_stripe(&stripe).await;
    let staff = app.staff_token().await;
    let Placed {
        token, id: tiny, ..
    } = customer_order(&app, &staff, items("0.10", 1)).await;
    let (status, body) = create_intent(&app, &token, &tiny, &[]).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("at least $0.50")),
        "{body}"
    );
    assert!(
        payment::Entity::find()
            .all(&app.state.db)
            .await
            .expect("q")
            .is_empty()
    );

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let dead_url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let mut settings = stripe.settings();
    settings.retain(|(name, _)| *name != "STRIPE_API_BASE");
    settings.push(("STRIPE_API_BASE", dead_url));
    let offline = spawn(Spawn {
        settings,
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = offline.staff_token().await;
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(&offline, &staff, items("10.00", 1)).await;
    let (status, _) = create_intent(&offline, &token, &order_id, &[]).await;
    assert_eq!(status, 503);
    assert!(
        payment::Entity::find()
            .all(&offline.state.db)
            .await
            .expect("q")
            .is_empty()
    );
}

#[tokio::test]
async fn the_verification_job_settles_a_payment_whose_webhook_never_came() {
    let stripe = Stripe::start().await;
    let app = with_stripe(&stripe).await;
    let staff = app.staff_token().await;
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(&app, &staff, items("10.00", 1)).await;
    create_intent(&app, &token, &order_id, &[]).await;
    let payment = stored_payment(&app, &order_id).await;
    let queued = job::Entity::find()
        .filter(job::Column::Kind.eq(<verify::VerifyPayment as Job>::KIND))
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("a verification is queued");
    assert!(
        queued.run_at > emporium::time::now(),
        "not at once: the webhook may come first"
    );
    assert_eq!(
        queued.max_attempts,
        <verify::VerifyPayment as Job>::MAX_ATTEMPTS
    );

    // Still being paid: the job will try again later.
    stripe.set_status(&payment.provider_ref, "processing");
    let outcomes = run(&app, <verify::VerifyPayment as Job>::KIND).await;
    assert!(
        matches!(outcomes[..], [Err(JobError::Retry(_))]),
        "{outcomes:?}"
    );
    assert_eq!(order_status(&app, &order_id).await.0, "PENDING");
    // Paid, the webhook held back: the job applies it (once, like a webhook).
    stripe.set_status(&payment.provider_ref, "succeeded");
    assert!(
        run(&app, <verify::VerifyPayment as Job>::KIND)
            .await
            .iter()
            .all(Result::is_ok)
    );
    assert_eq!(
        order_status(&app, &order_id).await,
        ("PAID".to_owned(), "PAID".to_owned())
    );
    let reads = stripe
        .received()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&payment.provider_ref))
        .count();
    assert_eq!(reads, 2);
    // The late webhook changes nothing more.
    let body = stripe.event("payment_intent.succeeded", &payment.provider_ref);
    assert_eq!(deliver(&app, &body, &Stripe::sign(&body)).await, 200);
    assert_eq!(order_status(&app, &order_id).await.0, "PAID");
}

#[tokio::test]
async fn cancelling_a_paid_order_refunds_it_at_stripe_once() {
    let stripe = Stripe::start().await;
    let app = with_stripe(&stripe).await;
    let staff = app.staff_token().await;
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(&app, &staff, items("10.00", 1)).await;
    create_intent(&app, &token, &order_id, &[]).await;
    let payment = stored_payment(&app, &order_id).await;
    let body = stripe.event("payment_intent.succeeded", &payment.provider_ref);
    assert_eq!(deliver(&app, &body, &Stripe::sign(&body)).await, 200);
    let (status, _) = app
        .post_empty(&format!("/api/orders/{order_id}/cancel/"), Some(&staff))
        .await;
    assert_eq!(status, 200);
    assert!(run(&app, "payments.refund").await.iter().all(Result::is_ok));
    let refunds: Vec<_> = stripe
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/refunds")
        .collect();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        refunds[0].form.get("payment_intent"),
        Some(&payment.provider_ref)
    );
    assert!(
        refunds[0].idempotency_key.is_some(),
        "a retried refund is one refund"
    );
    // Stripe confirms with its event; until then the payment is still PAID.
    assert_eq!(
        stored_payment(&app, &order_id).await.status.as_str(),
        "PAID"
    );
    let refunded = stripe.event("charge.refunded", &payment.provider_ref);
    assert_eq!(
        deliver(&app, &refunded, &Stripe::sign(&refunded)).await,
        200
    );
    assert_eq!(
        stored_payment(&app, &order_id).await.status.as_str(),
        "REFUNDED"
    );
    assert_eq!(
        order_status(&app, &order_id).await,
        ("CANCELLED".to_owned(), "REFUNDED".to_owned())
    );
}

#[tokio::test]
async fn a_retry_after_stripe_timed_out_gets_the_intent_stripe_made_meanwhile() {
    let stripe = Stripe::start().await;
    let mut settings = stripe.settings();
    settings.push(("EMPORIUM_OUTGOING_TIMEOUT", "1s".to_owned()));
    settings.push(("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", "1s".to_owned()));
    let app = spawn(Spawn {
        settings,
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(&app, &staff, items("10.00", 1)).await;
    stripe.set_delay(Some(std::time::Duration::from_secs(2)));
    let started = std::time::Instant::now();
    let (status, body) = create_intent(&app, &token, &order_id, &[]).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1900),
        "answered within the outgoing timeout, not after Stripe: {:?}",
        started.elapsed()
    );
    assert!(
        payment::Entity::find()
            .all(&app.state.db)
            .await
            .expect("q")
            .is_empty()
    );
    stripe.set_delay(None);
    let (status, created) = create_intent(&app, &token, &order_id, &[]).await;
    assert_eq!(status, 201, "{created}");
    let calls = stripe.received();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].idempotency_key, calls[1].idempotency_key,
        "the same key twice"
    );
    let stored = stored_payment(&app, &order_id).await;
    let secret = created["client_secret"].as_str().expect("secret");
    assert!(
        secret.starts_with(&stored.provider_ref),
        "the intent Stripe made during the timed-out call"
    );
}
