//! Payments through Razorpay's wire format, against the stand-in: the order made for Checkout,
//! Checkout's signed result, signed webhooks applied once, the verification job, a refund.

use crate::helpers::run_job;
use emporium::jobs::Job;
use emporium::jobs::{JobContext, job};
use emporium::orders::order;
use emporium::payments::{payment, payment_event, refunds, verify};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{Basket, Placed, create_intent, customer_order};
use crate::helpers::{Spawn, TestApp, burst, count, spawn};
use crate::razorpay_standin::{KEY_ID, Razorpay};

async fn with_razorpay(rzp: &Razorpay) -> TestApp {
    spawn(Spawn {
        settings: rzp.settings(),
        no_worker: true,
        ..Spawn::default()
    })
    .await
}

/// A customer's placed order (2 × 499.50 INR) and its Razorpay intent: (token, order id,
/// Razorpay order id).
async fn ordered_and_intended(app: &TestApp, staff: &str) -> (String, String, String) {
    let kurtas = Basket {
        name: "Kurta",
        price: "499.50",
        stock: 10,
        quantity: 2,
        address: json!({"full_name": "Asha Rao", "line1": "12 MG Road", "city": "Bengaluru",
            "postal_code": "560001", "country": "IN"}),
    };
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(app, staff, kurtas).await;
    let (status, intent) = create_intent(app, &token, &order_id, &[]).await;
    assert_eq!(status, 201, "{intent}");
    assert_eq!(
        (&intent["provider"], &intent["amount"], &intent["currency"]),
        (&json!("razorpay"), &json!("999.00"), &json!("INR"))
    );
    assert_eq!(intent["razorpay"]["key_id"], KEY_ID);
    let rzp_order = intent["razorpay"]["order_id"]
        .as_str()
        .expect("order")
        .to_owned();
    (token, order_id, rzp_order)
}

async fn status_of(app: &TestApp, id: &str) -> (String, String) {
    let row = order::Entity::find_by_id(id.to_owned())
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("order");
    (
        row.status.as_str().to_owned(),
        row.payment_status.as_str().to_owned(),
    )
}

async fn deliver(app: &TestApp, body: &[u8], signature: &str, event_id: &str) -> u16 {
    app.request(Method::POST, "/api/payments/webhook/", None)
        .header("content-type", "application/json")
        .header("X-Razorpay-Signature", signature)
        .header("X-Razorpay-Event-Id", event_id)
        .body(body.to_vec())
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

async fn run(app: &TestApp, kind: &str) {
    let jobs = job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .all(&app.state.db)
        .await
        .expect("jobs");
    assert!(!jobs.is_empty(), "{kind} queued");
    for job in jobs {
        let ctx = JobContext {
            state: app.state.clone(),
            job_id: job.id,
            attempt: 1,
        };
        let payload: Value = serde_json::from_str(&job.payload).expect("payload");
        match kind {
            <verify::VerifyPayment as Job>::KIND => run_job::<verify::VerifyPayment>(ctx, payload)
                .await
                .expect("verified"),
            _ => run_job::<refunds::RefundPayment>(ctx, payload)
                .await
                .expect("refunded"),
        }
    }
}

#[tokio::test]
async fn checkouts_signed_result_pays_the_order_once_and_a_forged_one_does_nothing() {
    let rzp = Razorpay::start().await;
    let app = with_razorpay(&rzp).await;
    let staff = app.staff_token().await;
    let (token, order_id, rzp_order) = ordered_and_intended(&app, &staff).await;
    let created = &rzp.received()[0];
    assert_eq!(created.path, "/v1/orders");
    assert_eq!(created.body["amount"], 99_900, "paise");
    assert_eq!(created.body["currency"], "INR");
    assert_eq!(created.body["receipt"], order_id.as_str());

    let pay = rzp.pay(&rzp_order);
    let verify = |signature: String| {
        let body = json!({"razorpay_order_id": rzp_order, "razorpay_payment_id": pay, "razorpay_signature": signature});
        let (app, token) = (&app, token.clone());
        async move {
            app.post("/api/payments/razorpay/verify/", Some(&token), body)
                .await
        }
    };
    let (status, body) = verify(Razorpay::checkout_signature(&rzp_order, "pay_other")).await;
    assert_eq!(
        (status, body["razorpay_signature"].is_array()),
        (400, true),
        "{body}"
    );
    assert_eq!(status_of(&app, &order_id).await.0, "PENDING");
    let stranger = app.customer_token().await;
    let (status, _) = app
        .post(
            "/api/payments/razorpay/verify/",
            Some(&stranger),
            json!({"razorpay_order_id": rzp_order, "razorpay_payment_id": pay,
                "razorpay_signature": Razorpay::checkout_signature(&rzp_order, &pay)}),
        )
        .await;
    assert_eq!(status, 404, "another user's payment");
    let (status, paid) = verify(Razorpay::checkout_signature(&rzp_order, &pay)).await;
    assert_eq!((status, &paid["status"]), (200, &json!("PAID")), "{paid}");
    assert_eq!(
        status_of(&app, &order_id).await,
        ("PAID".to_owned(), "PAID".to_owned())
    );
    // Razorpay's own webhook for the same capture arrives too: applied already.
    let (body, signature, event_id) = rzp.webhook("payment.captured", &rzp_order, &pay);
    assert_eq!(deliver(&app, &body, &signature, &event_id).await, 200);
    let stored = payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id.as_str()))
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("payment");
    assert_eq!(stored.captured_ref.as_deref(), Some(pay.as_str()));
    assert_eq!(stored.status.as_str(), "PAID");
}

#[tokio::test]
async fn a_signed_webhook_pays_once_however_often_it_comes_and_a_forged_one_is_refused() {
    let rzp = Razorpay::start().await;
    let app = with_razorpay(&rzp).await;
    let staff = app.staff_token().await;
    let (_, order_id, rzp_order) = ordered_and_intended(&app, &staff).await;
    let pay = rzp.pay(&rzp_order);
    let (body, signature, event_id) = rzp.webhook("payment.captured", &rzp_order, &pay);
    let forged = emporium::payments::signature::sign_razorpay(b"not the secret", &body);
    assert_eq!(deliver(&app, &body, &forged, &event_id).await, 400);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(deliver(&app, &tampered, &signature, &event_id).await, 400);
    assert_eq!(status_of(&app, &order_id).await.0, "PENDING");

    let answers = burst(10, |_| {
        app.request(Method::POST, "/api/payments/webhook/", None)
            .header("content-type", "application/json")
            .header("X-Razorpay-Signature", signature.clone())
            .header("X-Razorpay-Event-Id", event_id.clone())
            .body(body.clone())
    })
    .await;
    assert_eq!(count(&answers, 200), 10, "{answers:?}");
    assert_eq!(
        payment_event::Entity::find()
            .all(&app.state.db)
            .await
            .expect("q")
            .len(),
        1
    );
    assert_eq!(
        status_of(&app, &order_id).await,
        ("PAID".to_owned(), "PAID".to_owned())
    );
}

#[tokio::test]
async fn the_verification_job_asks_razorpay_and_a_refund_goes_through_its_api() {
    let rzp = Razorpay::start().await;
    let app = with_razorpay(&rzp).await;
    let staff = app.staff_token().await;
    let (_, order_id, rzp_order) = ordered_and_intended(&app, &staff).await;
    // Paid at Razorpay, no webhook, no Checkout callback: the job finds it.
    rzp.pay(&rzp_order);
    run(&app, <verify::VerifyPayment as Job>::KIND).await;
    assert_eq!(
        status_of(&app, &order_id).await,
        ("PAID".to_owned(), "PAID".to_owned())
    );

    // Another order paid through Checkout, then cancelled by staff: refunded at Razorpay.
    let (token, second, second_rzp) = ordered_and_intended(&app, &staff).await;
    let pay = rzp.pay(&second_rzp);
    app.post(
        "/api/payments/razorpay/verify/",
        Some(&token),
        json!({"razorpay_order_id": second_rzp, "razorpay_payment_id": pay,
            "razorpay_signature": Razorpay::checkout_signature(&second_rzp, &pay)}),
    )
    .await;
    let (status, _) = app
        .post_empty(&format!("/api/orders/{second}/cancel/"), Some(&staff))
        .await;
    assert_eq!(status, 200);
    run(&app, <refunds::RefundPayment as Job>::KIND).await;
    run(&app, <refunds::RefundPayment as Job>::KIND).await;
    // The second run asks again (the refund is not confirmed yet); Razorpay refuses a second
    // full refund, which counts as done: one refund.
    assert!(
        rzp.received()
            .iter()
            .filter(|r| r.path.ends_with("/refund"))
            .all(|r| r.method == "POST" && r.path == format!("/v1/payments/{pay}/refund"))
    );
    assert_eq!(rzp.refunded(), [pay.as_str()]);
    let (body, signature, event_id) = rzp.webhook("refund.processed", &second_rzp, &pay);
    assert_eq!(deliver(&app, &body, &signature, &event_id).await, 200);
    assert_eq!(
        status_of(&app, &second).await,
        ("CANCELLED".to_owned(), "REFUNDED".to_owned())
    );
}
