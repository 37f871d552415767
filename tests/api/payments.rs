//! Payments over HTTP with the offline `dummy` provider: intents whose amount is the order's,
//! one per order; webhooks signed like Stripe's, refused when the signature does not hold and
//! applied once however often they arrive; failures, wrong amounts, a success after the order
//! was cancelled, and refunds.

use crate::helpers::run_job;
use emporium::jobs::Job;
use emporium::jobs::{JobContext, job};
use emporium::orders::order;
use emporium::payments::provider::Provider;
use emporium::payments::{payment, payment_event, refunds, signature};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{
    Basket, Placed, create_intent, customer_order, paid_order, pay_with_dummy, stock, with_mail,
};
use crate::helpers::{Spawn, TestApp, burst, count, spawn};

/// The amount and currency a client sends with its intent, which the server must ignore.
const CLIENT_PRICE: &[(&str, &str)] = &[("amount", "0.01"), ("currency", "JPY")];

/// A customer's placed order of `quantity` boots and its intent: (token, order id, product,
/// payment).
async fn with_intent(
    app: &TestApp,
    staff: &str,
    quantity: i64,
) -> (String, String, i64, payment::Model) {
    let Placed { token, id, product } = customer_order(app, staff, Basket::boots(quantity)).await;
    let (status, created) = create_intent(app, &token, &id, CLIENT_PRICE).await;
    assert_eq!(status, 201, "{created}");
    let payment = stored_payment(app, created["payment_id"].as_str().expect("id")).await;
    (token, id, product, payment)
}

async fn stored_order(app: &TestApp, id: &str) -> order::Model {
    order::Entity::find_by_id(id.to_owned())
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("order")
}

async fn stored_payment(app: &TestApp, id: &str) -> payment::Model {
    payment::Entity::find_by_id(id.to_owned())
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("payment")
}

/// A Stripe-shaped event about `payment`'s intent.
fn event(kind: &str, payment: &payment::Model, amount: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "type": kind,
        "data": {"object": {"id": payment.provider_ref, "object": "payment_intent",
            "amount": amount, "currency": payment.currency.to_lowercase(),
            "payment_intent": payment.provider_ref}},
    }))
    .expect("json")
}

fn secret(app: &TestApp) -> Vec<u8> {
    Provider::from_settings(&app.state.settings)
        .webhook_secret()
        .to_vec()
}

async fn deliver(app: &TestApp, body: &[u8], header: Option<String>) -> u16 {
    let mut request = app
        .request(Method::POST, "/api/payments/webhook/", None)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(header) = header {
        request = request.header("Stripe-Signature", header);
    }
    request.send().await.expect("sent").status().as_u16()
}

fn signed(app: &TestApp, body: &[u8]) -> Option<String> {
    Some(signature::sign(
        &secret(app),
        chrono::Utc::now().timestamp(),
        body,
    ))
}

async fn worker_less() -> TestApp {
    spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await
}

#[tokio::test]
async fn an_intent_is_made_once_per_order_for_the_orders_amount() {
    let app = worker_less().await;
    let staff = app.staff_token().await;
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(&app, &staff, Basket::boots(3)).await;
    let (status, first) = create_intent(&app, &token, &order_id, CLIENT_PRICE).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (
            &first["provider"],
            &first["amount"],
            &first["currency"],
            &first["status"]
        ),
        (
            &json!("dummy"),
            &json!("30.00"),
            &json!("USD"),
            &json!("PENDING")
        ),
        "the order's amount, not the client's"
    );
    assert!(
        first["client_secret"]
            .as_str()
            .is_some_and(|s| s.contains("_secret_"))
    );
    let (status, again) = create_intent(&app, &token, &order_id, CLIENT_PRICE).await;
    assert_eq!(
        (status, &again["payment_id"]),
        (201, &first["payment_id"]),
        "the same intent"
    );
    assert_eq!(
        stored_order(&app, &order_id).await.payment_status.as_str(),
        "PENDING"
    );

    let stranger = app.customer_token().await;
    assert_eq!(
        create_intent(&app, &stranger, &order_id, CLIENT_PRICE)
            .await
            .0,
        404
    );
    assert_eq!(
        create_intent(
            &app,
            &token,
            &uuid::Uuid::new_v4().to_string(),
            CLIENT_PRICE
        )
        .await
        .0,
        404
    );
    let (status, body) = app
        .post(
            "/api/payments/create-intent/",
            Some(&token),
            json!({"order_id": "nope"}),
        )
        .await;
    assert_eq!((status, body["order_id"].is_array()), (400, true));

    // With a key: the first answer again; another order under the same key is refused.
    let with_key = |key: &str, order: &str| {
        app.request(Method::POST, "/api/payments/create-intent/", Some(&token))
            .header("Idempotency-Key", key)
            .json(&json!({"order_id": order}))
            .send()
    };
    let keyed = with_key("pay-1", &order_id).await.expect("sent");
    assert_eq!(keyed.status(), 201);
    let replay = with_key("pay-1", &order_id).await.expect("sent");
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let other_order = customer_order(&app, &staff, Basket::boots(1)).await.id;
    assert_eq!(
        with_key("pay-1", &other_order)
            .await
            .expect("sent")
            .status(),
        422
    );

    // A cancelled order cannot be paid.
    let (status, _) = app
        .post_empty(&format!("/api/orders/{order_id}/cancel/"), Some(&token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        create_intent(&app, &token, &order_id, CLIENT_PRICE).await.0,
        409
    );
}

#[tokio::test]
async fn the_dummy_confirmation_pays_the_order_through_the_signed_webhook() {
    let app = worker_less().await;
    let staff = app.staff_token().await;
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(&app, &staff, Basket::boots(2)).await;
    let (_, created) = create_intent(&app, &token, &order_id, CLIENT_PRICE).await;
    let payment_id = created["payment_id"].as_str().expect("id");
    let path = format!("/api/payments/{payment_id}/confirm/");
    let confirm = |token: &str, outcome: &str| {
        let (app, path, token) = (&app, &path, token.to_owned());
        let body = json!({"outcome": outcome});
        async move { app.post(path, Some(&token), body).await }
    };
    let stranger = app.customer_token().await;
    assert_eq!(confirm(&stranger, "succeeded").await.0, 404);
    assert_eq!(confirm(&token, "maybe").await.0, 400);
    let (status, failed) = confirm(&token, "failed").await;
    assert_eq!((status, &failed["status"]), (200, &json!("FAILED")));
    let order = stored_order(&app, &order_id).await;
    assert_eq!(
        (order.status.as_str(), order.payment_status.as_str()),
        ("PENDING", "FAILED"),
        "still payable"
    );
    let (status, paid) = confirm(&token, "succeeded").await;
    assert_eq!((status, &paid["status"]), (200, &json!("PAID")));
    let (_, order) = app
        .get_as(&format!("/api/orders/{order_id}/"), Some(&token))
        .await;
    assert_eq!(
        (&order["status"], &order["payment_status"]),
        (&json!("PAID"), &json!("PAID"))
    );
    assert_eq!(
        create_intent(&app, &token, &order_id, CLIENT_PRICE).await.0,
        409,
        "a paid order cannot be paid again"
    );
    let events = payment_event::Entity::find()
        .all(&app.state.db)
        .await
        .expect("events");
    assert_eq!(events.len(), 2, "both went through the webhook path");
}

#[tokio::test]
async fn a_webhook_whose_signature_does_not_hold_changes_nothing() {
    let app = worker_less().await;
    let staff = app.staff_token().await;
    let (_, order_id, _, payment) = with_intent(&app, &staff, 1).await;
    let body = event("payment_intent.succeeded", &payment, payment.amount);
    let now = chrono::Utc::now().timestamp();
    let mut tampered = body.clone();
    let last = tampered.len() - 2;
    tampered[last] = b' ';
    let cases = [
        (body.clone(), None),
        (
            body.clone(),
            Some(signature::sign(b"not the secret", now, &body)),
        ),
        (
            body.clone(),
            Some(signature::sign(&secret(&app), now - 301, &body)),
        ),
        (tampered, Some(signature::sign(&secret(&app), now, &body))),
        (body.clone(), Some("t=abc,v1=00".to_owned())),
    ];
    for (payload, header) in cases {
        assert_eq!(
            deliver(&app, &payload, header.clone()).await,
            400,
            "{header:?}"
        );
    }
    assert_eq!(
        stored_order(&app, &order_id).await.status.as_str(),
        "PENDING"
    );
    assert!(
        payment_event::Entity::find()
            .all(&app.state.db)
            .await
            .expect("events")
            .is_empty()
    );
    // Several v1 (a secret being rolled): one matching is enough.
    let good = signature::sign(&secret(&app), now, &body);
    let rolled = format!(
        "t={now},v1={},{}",
        "ab".repeat(32),
        good.split(',').nth(1).expect("v1")
    );
    assert_eq!(deliver(&app, &body, Some(rolled)).await, 200);
    assert_eq!(stored_order(&app, &order_id).await.status.as_str(), "PAID");
}

#[tokio::test]
async fn one_event_delivered_ten_times_at_once_applies_once() {
    let app = worker_less().await;
    let staff = app.staff_token().await;
    let (_, order_id, _, payment) = with_intent(&app, &staff, 1).await;
    let body = event("payment_intent.succeeded", &payment, payment.amount);
    let header = signed(&app, &body).expect("header");
    let answers = burst(10, |_| {
        app.request(Method::POST, "/api/payments/webhook/", None)
            .header("content-type", "application/json")
            .header("Stripe-Signature", header.clone())
            .body(body.clone())
    })
    .await;
    assert_eq!(count(&answers, 200), 10, "{answers:?}");
    let events = payment_event::Entity::find()
        .all(&app.state.db)
        .await
        .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(stored_order(&app, &order_id).await.status.as_str(), "PAID");
    // Delivered again later: still once.
    assert_eq!(deliver(&app, &body, signed(&app, &body)).await, 200);
    assert_eq!(
        payment_event::Entity::find()
            .all(&app.state.db)
            .await
            .expect("events")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_wrong_amount_never_pays_and_unknown_events_are_ignored() {
    let app = worker_less().await;
    let staff = app.staff_token().await;
    let (_, order_id, _, payment) = with_intent(&app, &staff, 2).await;
    let short = event("payment_intent.succeeded", &payment, payment.amount - 1);
    assert_eq!(deliver(&app, &short, signed(&app, &short)).await, 200);
    let unknown = event("customer.created", &payment, 0);
    assert_eq!(deliver(&app, &unknown, signed(&app, &unknown)).await, 200);
    let order = stored_order(&app, &order_id).await;
    assert_eq!(
        (order.status.as_str(), order.payment_status.as_str()),
        ("PENDING", "PENDING")
    );
    assert_eq!(
        stored_payment(&app, &payment.id).await.status.as_str(),
        "PENDING"
    );
}

async fn run_refunds(app: &TestApp) {
    let jobs = job::Entity::find()
        .filter(job::Column::Kind.eq(<refunds::RefundPayment as Job>::KIND))
        .all(&app.state.db)
        .await
        .expect("jobs");
    assert!(!jobs.is_empty(), "a refund was queued");
    for job in jobs {
        let payload: Value = serde_json::from_str(&job.payload).expect("payload");
        let ctx = JobContext {
            state: app.state.clone(),
            job_id: job.id,
            attempt: 1,
        };
        run_job::<refunds::RefundPayment>(ctx.clone(), payload.clone())
            .await
            .expect("refund");
        run_job::<refunds::RefundPayment>(ctx, payload)
            .await
            .expect("a second run changes nothing");
    }
}

#[tokio::test]
async fn a_success_after_the_order_was_cancelled_is_refunded_not_lost() {
    let app = worker_less().await;
    let staff = app.staff_token().await;
    let (token, order_id, boot, payment) = with_intent(&app, &staff, 2).await;
    app.post_empty(&format!("/api/orders/{order_id}/cancel/"), Some(&token))
        .await;
    let body = event("payment_intent.succeeded", &payment, payment.amount);
    assert_eq!(deliver(&app, &body, signed(&app, &body)).await, 200);
    let order = stored_order(&app, &order_id).await;
    assert_eq!(
        (order.status.as_str(), order.payment_status.as_str()),
        ("CANCELLED", "PAID")
    );
    run_refunds(&app).await;
    let order = stored_order(&app, &order_id).await;
    assert_eq!(
        (order.status.as_str(), order.payment_status.as_str()),
        ("CANCELLED", "REFUNDED")
    );
    assert_eq!(
        stored_payment(&app, &payment.id).await.status.as_str(),
        "REFUNDED"
    );
    assert_eq!(
        stock(&app, boot).await,
        10,
        "the cancellation returned the stock once"
    );
}

#[tokio::test]
async fn staff_cancelling_a_paid_order_refund_it_and_return_the_stock() {
    let app = worker_less().await;
    let staff = app.staff_token().await;
    let (order, payment_id) = paid_order(&app, &staff, Basket::boots(3), CLIENT_PRICE).await;
    let Placed {
        id: order_id,
        product: boot,
        ..
    } = order;
    let (status, body) = app
        .post_empty(&format!("/api/orders/{order_id}/cancel/"), Some(&staff))
        .await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("CANCELLED")),
        "{body}"
    );
    run_refunds(&app).await;
    assert_eq!(
        stored_payment(&app, &payment_id).await.status.as_str(),
        "REFUNDED"
    );
    assert_eq!(
        stored_order(&app, &order_id).await.payment_status.as_str(),
        "REFUNDED"
    );
    // A refund the provider reports is applied once too.
    let payment = stored_payment(&app, &payment_id).await;
    let refunded = event("charge.refunded", &payment, payment.amount);
    assert_eq!(deliver(&app, &refunded, signed(&app, &refunded)).await, 200);
    assert_eq!(stock(&app, boot).await, 10);
}

#[tokio::test]
async fn a_paid_order_gets_its_pdf_invoice_and_a_confirmation_mailed_with_it_once() {
    let smtp = crate::standins::SmtpServer::start().await;
    let app = spawn(Spawn {
        no_worker: true,
        ..with_mail(&smtp, &[("EMPORIUM_SHOP_NAME", "Ada's (Test) Shop")])
    })
    .await;
    let staff = app.staff_token().await;
    let Placed {
        token,
        id: order_id,
        ..
    } = customer_order(&app, &staff, Basket::boots(2)).await;
    let invoice_path = format!("/api/orders/{order_id}/invoice/");
    let (status, _) = app.get_as(&invoice_path, Some(&token)).await;
    assert_eq!(status, 409, "not paid yet");
    pay_with_dummy(&app, &token, &order_id, CLIENT_PRICE).await;

    let get_pdf = |token: String| {
        let (app, path) = (&app, invoice_path.clone());
        async move {
            app.request(Method::GET, &path, Some(&token))
                .send()
                .await
                .expect("sent")
        }
    };
    let early = get_pdf(token.clone()).await;
    assert_eq!(
        early.status(),
        200,
        "paid: rendered even before the job ran"
    );
    let early = early.bytes().await.expect("pdf");
    let jobs_of = |kind: &'static str| {
        let app = &app;
        async move {
            job::Entity::find()
                .filter(job::Column::Kind.eq(kind))
                .all(&app.state.db)
                .await
                .expect("jobs")
        }
    };
    let invoices = jobs_of("orders.invoice").await;
    assert_eq!(invoices.len(), 1, "queued with the payment");
    let ctx = JobContext {
        state: app.state.clone(),
        job_id: invoices[0].id,
        attempt: 1,
    };
    let payload: Value = serde_json::from_str(&invoices[0].payload).expect("payload");
    run_job::<emporium::orders::invoice::MakeInvoice>(ctx.clone(), payload.clone())
        .await
        .expect("issued");
    run_job::<emporium::orders::invoice::MakeInvoice>(ctx.clone(), payload)
        .await
        .expect("a second run changes nothing");
    let mails = jobs_of(<emporium::email::job::SendEmail as Job>::KIND).await;
    assert_eq!(mails.len(), 1, "one confirmation");

    let response = get_pdf(token.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/pdf"[..])
    );
    let pdf = response.bytes().await.expect("pdf");
    assert_eq!(pdf, early, "the issued invoice is the one shown before");
    assert!(pdf.starts_with(b"%PDF-"));
    let text = crate::invoices::pdf_text(&pdf);
    for expected in [
        "Total: 20.00 USD",
        "Subtotal: 20.00 USD",
        "Ada's (Test) Shop",
        "Ada Lovelace",
        &format!("Order: {order_id}"),
    ] {
        assert!(text.contains(expected), "{expected} in the invoice: {text}");
    }
    assert_eq!(
        get_pdf(staff.clone()).await.status(),
        200,
        "staff may read it"
    );
    assert_eq!(get_pdf(app.customer_token().await).await.status(), 404);

    // The confirmation goes out through SMTP with the PDF attached.
    let payload: Value = serde_json::from_str(&mails[0].payload).expect("payload");
    run_job::<emporium::email::job::SendEmail>(ctx, payload)
        .await
        .expect("sent");
    let received = smtp.messages();
    assert_eq!(received.len(), 1);
    let data = &received[0].data;
    assert!(data.contains("application/pdf"), "{data}");
    assert!(data.contains(&format!("invoice-{order_id}.pdf")));
    assert!(
        received[0]
            .part("text/plain")
            .is_some_and(|t| t.contains("20.00 USD"))
    );
}

#[tokio::test]
async fn a_long_event_id_applies_and_a_partial_refund_leaves_the_payment_paid() {
    let app = worker_less().await;
    let staff = app.staff_token().await;
    let (_, order_id, _, payment) = with_intent(&app, &staff, 1).await;
    let body = serde_json::to_vec(&json!({
        "id": format!("evt_{}", "x".repeat(150)),
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": payment.provider_ref, "amount": payment.amount, "currency": "usd"}},
    }))
    .expect("json");
    assert_eq!(deliver(&app, &body, signed(&app, &body)).await, 200);
    assert_eq!(deliver(&app, &body, signed(&app, &body)).await, 200);
    assert_eq!(
        stored_payment(&app, &payment.id).await.status.as_str(),
        "PAID"
    );
    assert_eq!(
        payment_event::Entity::find()
            .all(&app.state.db)
            .await
            .expect("q")
            .len(),
        1
    );
    let partial = serde_json::to_vec(&json!({
        "id": "evt_partial",
        "type": "charge.refunded",
        "data": {"object": {"id": "ch_1", "payment_intent": payment.provider_ref,
            "amount_refunded": 1, "refunded": false}},
    }))
    .expect("json");
    assert_eq!(deliver(&app, &partial, signed(&app, &partial)).await, 200);
    assert_eq!(
        stored_payment(&app, &payment.id).await.status.as_str(),
        "PAID"
    );
    assert_eq!(
        stored_order(&app, &order_id).await.payment_status.as_str(),
        "PAID"
    );
}
