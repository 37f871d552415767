//! A second successful payment of an order already paid — another Razorpay payment of the same
//! Razorpay order, another Stripe charge — is recorded and refunded in full at once through the
//! provider, once however many events tell of it; its refund's own event changes nothing. And
//! Razorpay's refund events of the payment itself, partial and then full.

use emporium::jobs::{JobContext, job};
use emporium::payments::refunds::RefundCapture;
use reqwest::Method;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::fixtures::{Basket, Placed, create_intent, customer_order, stock};
use crate::helpers::{Spawn, TestApp, burst, count, run_job, spawn};
use crate::provider_refunds::{
    charge_refunded, deliver, jobs_of, paid_at_stripe, payment_of, refunds_of, statuses,
    stripe_event, stripe_shop,
};
use crate::razorpay_standin::{Razorpay, WEBHOOK_SECRET};
use crate::stripe_standin::Stripe;

async fn run_refund_captures(app: &TestApp) {
    let jobs = jobs_of(app, "payments.refund_capture").await;
    for job in jobs {
        let ctx = JobContext {
            state: app.state.clone(),
            job_id: job.id,
            attempt: 1,
        };
        let payload: Value = serde_json::from_str(&job.payload).expect("payload");
        run_job::<RefundCapture>(ctx, payload)
            .await
            .expect("refunded");
    }
}

fn rzp_request(app: &TestApp, body: &[u8], event_id: &str) -> reqwest::RequestBuilder {
    let signature = emporium::payments::signature::sign_razorpay(WEBHOOK_SECRET.as_bytes(), body);
    app.request(Method::POST, "/api/payments/webhook/", None)
        .header("content-type", "application/json")
        .header("X-Razorpay-Signature", signature)
        .header("X-Razorpay-Event-Id", event_id)
        .body(body.to_vec())
}

/// Razorpay's `refund.processed` of `amount` of payment `pay`, `amount_refunded` so far.
fn rzp_refund(rzp_order: &str, pay: &str, amount: i64, so_far: i64, status: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "entity": "event", "event": "refund.processed", "contains": ["refund", "payment"],
        "payload": {
            "refund": {"entity": {"id": format!("rfnd_{}", uuid::Uuid::new_v4().simple()),
                "entity": "refund", "amount": amount, "payment_id": pay, "currency": "INR"}},
            "payment": {"entity": {"id": pay, "entity": "payment", "order_id": rzp_order,
                "amount": 99_900, "currency": "INR", "status": "refunded",
                "amount_refunded": so_far, "refund_status": status}},
        },
    }))
    .expect("json")
}

async fn send(app: &TestApp, body: &[u8]) -> u16 {
    let id = format!("evt_{}", uuid::Uuid::new_v4().simple());
    rzp_request(app, body, &id)
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_second_razorpay_payment_of_a_paid_order_is_refunded_once_at_once() {
    let rzp = Razorpay::start().await;
    let app = spawn(Spawn {
        settings: rzp.settings(),
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let kurtas = Basket {
        name: "Kurta",
        price: "499.50",
        quantity: 2,
        ..Basket::boots(2)
    };
    let Placed {
        token,
        id: order_id,
        product,
    } = customer_order(&app, &staff, kurtas).await;
    let (_, intent) = create_intent(&app, &token, &order_id, &[]).await;
    let rzp_order = intent["razorpay"]["order_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let first = rzp.pay(&rzp_order);
    let (body, _, _) = rzp.webhook("payment.captured", &rzp_order, &first);
    assert_eq!(send(&app, &body).await, 200);
    let paid = ("PAID".to_owned(), "PAID".to_owned(), "PAID".to_owned());
    assert_eq!(statuses(&app, &order_id).await, paid);

    // The customer paid again (another tab): five events at once tell of it, then Checkout's
    // answer in the app.
    let second = rzp.pay(&rzp_order);
    let (body, _, _) = rzp.webhook("payment.captured", &rzp_order, &second);
    let answers = burst(5, |n| rzp_request(&app, &body, &format!("evt_second_{n}"))).await;
    assert_eq!(count(&answers, 200), 5, "{answers:?}");
    let (status, _) = app
        .post(
            "/api/payments/razorpay/verify/",
            Some(&token),
            json!({"razorpay_order_id": rzp_order, "razorpay_payment_id": second,
                "razorpay_signature": Razorpay::checkout_signature(&rzp_order, &second)}),
        )
        .await;
    assert_eq!(status, 200);
    let payment = payment_of(&app, &order_id).await;
    assert_eq!(payment.captured_ref.as_deref(), Some(first.as_str()));
    assert_eq!(
        statuses(&app, &order_id).await,
        paid,
        "the order stays paid"
    );
    assert_eq!(
        refunds_of(&app, &payment.id).await,
        [("EXTRA_CAPTURE".to_owned(), Some(second.clone()), 99_900)]
    );
    assert_eq!(jobs_of(&app, "payments.refund_capture").await.len(), 1);

    run_refund_captures(&app).await;
    let asked: Vec<_> = rzp
        .received()
        .into_iter()
        .filter(|r| r.path.ends_with("/refund"))
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].path, format!("/v1/payments/{second}/refund"));
    assert_eq!(asked[0].body["amount"], 99_900);
    assert_eq!(rzp.refunded(), std::slice::from_ref(&second));

    // Razorpay confirms that refund: not the order's payment, nothing changes.
    let confirmed = rzp_refund(&rzp_order, &second, 99_900, 99_900, "full");
    assert_eq!(send(&app, &confirmed).await, 200);
    assert_eq!(statuses(&app, &order_id).await, paid);
    assert_eq!(stock(&app, product).await, 8);

    // A partial refund of the order's own payment, then the rest.
    let partial = rzp_refund(&rzp_order, &first, 10_000, 10_000, "partial");
    assert_eq!(send(&app, &partial).await, 200);
    assert_eq!(statuses(&app, &order_id).await, paid);
    let rest = rzp_refund(&rzp_order, &first, 89_900, 99_900, "full");
    assert_eq!(send(&app, &rest).await, 200);
    assert_eq!(
        statuses(&app, &order_id).await,
        (
            "CANCELLED".to_owned(),
            "REFUNDED".to_owned(),
            "REFUNDED".to_owned()
        )
    );
    assert_eq!(stock(&app, product).await, 10);
    assert_eq!(
        refunds_of(&app, &payment.id).await,
        [
            ("EXTRA_CAPTURE".to_owned(), Some(second), 99_900),
            ("PARTIAL".to_owned(), None, 10_000),
            ("FULL".to_owned(), None, 89_900),
        ]
    );
    assert!(jobs_of(&app, "payments.refund").await.is_empty());
}

#[tokio::test]
async fn a_second_stripe_charge_of_a_paid_order_is_refunded_by_its_charge_once() {
    let stripe = Stripe::start().await;
    let (app, staff) = stripe_shop(&stripe).await;
    let (order_id, boot, payment) = paid_at_stripe(&app, &staff).await;
    let again = stripe_event(
        "payment_intent.succeeded",
        json!({"id": payment.provider_ref, "object": "payment_intent", "amount": 1800,
            "currency": "usd", "latest_charge": "ch_second", "status": "succeeded"}),
    );
    assert_eq!(deliver(&app, &again).await, 200);
    assert_eq!(deliver(&app, &again).await, 200, "the same event twice");
    // The first charge told again changes nothing.
    let first_again = stripe_event(
        "payment_intent.succeeded",
        json!({"id": payment.provider_ref, "object": "payment_intent", "amount": 1800,
            "currency": "usd", "latest_charge": "ch_first", "status": "succeeded"}),
    );
    assert_eq!(deliver(&app, &first_again).await, 200);
    let paid = ("PAID".to_owned(), "PAID".to_owned(), "PAID".to_owned());
    assert_eq!(statuses(&app, &order_id).await, paid);
    assert_eq!(
        refunds_of(&app, &payment.id).await,
        [(
            "EXTRA_CAPTURE".to_owned(),
            Some("ch_second".to_owned()),
            1800
        )]
    );
    assert_eq!(jobs_of(&app, "payments.refund_capture").await.len(), 1);

    run_refund_captures(&app).await;
    let refunds: Vec<_> = stripe
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/refunds")
        .collect();
    assert_eq!(refunds.len(), 1);
    assert_eq!(
        refunds[0].form.get("charge").map(String::as_str),
        Some("ch_second")
    );
    assert_eq!(
        refunds[0].form.get("amount").map(String::as_str),
        Some("1800")
    );
    assert!(refunds[0].idempotency_key.is_some());

    // Stripe confirms the second charge's refund: the order's own payment is untouched.
    let confirmed = charge_refunded(&payment.provider_ref, "ch_second", 1800, true);
    assert_eq!(deliver(&app, &confirmed).await, 200);
    assert_eq!(statuses(&app, &order_id).await, paid);
    assert_eq!(stock(&app, boot).await, 8);
    assert_eq!(
        job::Entity::find()
            .all(&app.state.db)
            .await
            .expect("q")
            .iter()
            .filter(|j| j.kind.0 == "payments.refund")
            .count(),
        0
    );
}
