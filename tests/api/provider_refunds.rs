//! Refunds made at the provider (Stripe's `charge.refunded`, Razorpay's refund events): in full,
//! an order not yet shipped is cancelled — stock and coupon use back once, no second refund —
//! and a shipped one keeps its status while staff are emailed; a partial refund changes no
//! status; every one is recorded with its amount.

use emporium::coupons::coupon;
use emporium::jobs::job;
use emporium::orders::order;
use emporium::payments::{payment, payment_refund};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{add_to_cart, create_intent, product, stock};
use crate::helpers::{Spawn, TestApp, burst, count, spawn};
use crate::stripe_standin::Stripe;

/// A Stripe event of `kind` about `object`, with an id of its own.
pub fn stripe_event(kind: &str, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "type": kind,
        "data": {"object": object},
    }))
    .expect("json")
}

/// A `charge.refunded` of charge `charge` of `intent`: `amount_refunded` so far, `refunded`
/// when that is all of it.
pub fn charge_refunded(
    intent: &str,
    charge: &str,
    amount_refunded: i64,
    refunded: bool,
) -> Vec<u8> {
    stripe_event(
        "charge.refunded",
        json!({"id": charge, "object": "charge", "payment_intent": intent,
            "amount": 1800, "amount_refunded": amount_refunded, "refunded": refunded}),
    )
}

/// Delivers a Stripe event, signed.
pub async fn deliver(app: &TestApp, body: &[u8]) -> u16 {
    app.request(Method::POST, "/api/payments/webhook/", None)
        .header("content-type", "application/json")
        .header("Stripe-Signature", Stripe::sign(body))
        .body(body.to_vec())
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

/// A Stripe shop with a 10 % coupon `TENOFF`.
pub async fn stripe_shop(stripe: &Stripe) -> (TestApp, String) {
    let app = spawn(Spawn {
        settings: stripe.settings(),
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let (status, body) = app
        .post(
            "/api/coupons/",
            Some(&staff),
            json!({"code": "TENOFF", "kind": "percent", "value": "10"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (app, staff)
}

/// A customer's order of two boots at 10.00 with `TENOFF` (18.00), paid at Stripe with charge
/// `ch_first`: (order id, product id, payment).
pub async fn paid_at_stripe(app: &TestApp, staff: &str) -> (String, i64, payment::Model) {
    let token = app.customer_token().await;
    let boot = product(app, staff, "Boot", "10.00", 10).await;
    add_to_cart(app, &token, json!({"product_id": boot, "quantity": 2})).await;
    app.post("/api/cart/coupon/", Some(&token), json!({"code": "TENOFF"}))
        .await;
    let (status, placed) = app
        .post(
            "/api/orders/create/",
            Some(&token),
            json!({"shipping_address": crate::fixtures::address()}),
        )
        .await;
    assert_eq!(status, 201, "{placed}");
    let order_id = placed["id"].as_str().expect("id").to_owned();
    let (status, intent) = create_intent(app, &token, &order_id, &[]).await;
    assert_eq!((status, &intent["amount"]), (201, &json!("18.00")));
    let stored = payment_of(app, &order_id).await;
    let paid = stripe_event(
        "payment_intent.succeeded",
        json!({"id": stored.provider_ref, "object": "payment_intent", "amount": 1800,
            "currency": "usd", "latest_charge": "ch_first", "status": "succeeded"}),
    );
    assert_eq!(deliver(app, &paid).await, 200);
    let stored = payment_of(app, &order_id).await;
    assert_eq!(
        (stored.status.as_str(), stored.captured_ref.as_deref()),
        ("PAID", Some("ch_first"))
    );
    assert_eq!(stock(app, boot).await, 8);
    (order_id, boot, stored)
}

pub async fn payment_of(app: &TestApp, order_id: &str) -> payment::Model {
    payment::Entity::find()
        .filter(payment::Column::OrderId.eq(order_id))
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("payment")
}

pub async fn statuses(app: &TestApp, order_id: &str) -> (String, String, String) {
    let row = order::Entity::find_by_id(order_id.to_owned())
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("order");
    let payment = payment_of(app, order_id).await;
    (
        row.status.as_str().to_owned(),
        row.payment_status.as_str().to_owned(),
        payment.status.as_str().to_owned(),
    )
}

/// The refunds recorded for a payment: (kind, capture, amount), oldest first.
pub async fn refunds_of(app: &TestApp, payment_id: &str) -> Vec<(String, Option<String>, i64)> {
    let mut rows = payment_refund::Entity::find()
        .filter(payment_refund::Column::PaymentId.eq(payment_id))
        .all(&app.state.db)
        .await
        .expect("q");
    rows.sort_by_key(|r| r.id);
    rows.into_iter()
        .map(|r| {
            let kind = serde_json::to_value(r.kind).expect("kind");
            (
                kind.as_str().expect("text").to_owned(),
                r.captured_ref,
                r.amount,
            )
        })
        .collect()
}

pub async fn jobs_of(app: &TestApp, kind: &str) -> Vec<job::Model> {
    job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .all(&app.state.db)
        .await
        .expect("q")
}

async fn coupon_uses(app: &TestApp) -> i64 {
    coupon::Entity::find()
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("coupon")
        .uses
}

#[tokio::test]
async fn a_full_refund_at_stripe_cancels_a_paid_order_and_gives_stock_and_coupon_back_once() {
    let stripe = Stripe::start().await;
    let (app, staff) = stripe_shop(&stripe).await;
    let (order_id, boot, payment) = paid_at_stripe(&app, &staff).await;
    assert_eq!(coupon_uses(&app).await, 1);

    // Ten deliveries at once, each a different event telling the same full refund.
    let events: Vec<Vec<u8>> = (0..10)
        .map(|_| charge_refunded(&payment.provider_ref, "ch_first", 1800, true))
        .collect();
    let answers = burst(10, |n| {
        app.request(Method::POST, "/api/payments/webhook/", None)
            .header("content-type", "application/json")
            .header("Stripe-Signature", Stripe::sign(&events[n]))
            .body(events[n].clone())
    })
    .await;
    assert_eq!(count(&answers, 200), 10, "{answers:?}");
    assert_eq!(
        statuses(&app, &order_id).await,
        (
            "CANCELLED".to_owned(),
            "REFUNDED".to_owned(),
            "REFUNDED".to_owned()
        )
    );
    assert_eq!(stock(&app, boot).await, 10, "the two units back, once");
    assert_eq!(coupon_uses(&app).await, 0, "the coupon's use back, once");
    assert!(
        jobs_of(&app, "payments.refund").await.is_empty(),
        "the money went back already: no second refund"
    );
    assert_eq!(
        refunds_of(&app, &payment.id).await,
        [("FULL".to_owned(), None, 1800)]
    );
    assert!(
        stripe.received().iter().all(|r| r.path != "/v1/refunds"),
        "Stripe is not asked to refund"
    );
}

#[tokio::test]
async fn a_full_refund_of_a_shipped_order_keeps_its_status_and_emails_every_active_staff_member() {
    let stripe = Stripe::start().await;
    let (app, staff) = stripe_shop(&stripe).await;
    let other_staff = app.staff_token().await;
    let (order_id, boot, payment) = paid_at_stripe(&app, &staff).await;
    let (status, _) = app
        .patch(
            &format!("/api/orders/{order_id}/status/"),
            Some(&other_staff),
            json!({"status": "SHIPPED"}),
        )
        .await;
    assert_eq!(status, 200);
    let mails_before = jobs_of(&app, "email.send").await.len();

    let refunded = charge_refunded(&payment.provider_ref, "ch_first", 1800, true);
    assert_eq!(deliver(&app, &refunded).await, 200);
    assert_eq!(
        deliver(&app, &refunded).await,
        200,
        "a repeat changes nothing"
    );
    assert_eq!(
        statuses(&app, &order_id).await,
        (
            "SHIPPED".to_owned(),
            "REFUNDED".to_owned(),
            "REFUNDED".to_owned()
        )
    );
    assert_eq!(stock(&app, boot).await, 8, "shipped: no stock comes back");
    assert_eq!(coupon_uses(&app).await, 1);
    let mails = jobs_of(&app, "email.send").await;
    assert_eq!(mails.len() - mails_before, 2, "one per staff member");
    let new: Vec<Value> = mails
        .iter()
        .skip(mails_before)
        .map(|m| serde_json::from_str(&m.payload).expect("payload"))
        .collect();
    for mail in &new {
        let text = mail["text"].as_str().expect("text");
        assert!(text.contains(&order_id) && text.contains("18.00 USD") && text.contains("SHIPPED"));
    }
    assert!(jobs_of(&app, "payments.refund").await.is_empty());
    assert_eq!(
        refunds_of(&app, &payment.id).await,
        [("FULL".to_owned(), None, 1800)]
    );
}

#[tokio::test]
async fn partial_refunds_change_no_status_and_are_recorded_with_their_amounts() {
    let stripe = Stripe::start().await;
    let (app, staff) = stripe_shop(&stripe).await;
    let (order_id, boot, payment) = paid_at_stripe(&app, &staff).await;
    let paid = ("PAID".to_owned(), "PAID".to_owned(), "PAID".to_owned());

    // 3.00, then 2.00 more (Stripe reports 5.00 refunded so far).
    for so_far in [300, 500] {
        let partial = charge_refunded(&payment.provider_ref, "ch_first", so_far, false);
        assert_eq!(deliver(&app, &partial).await, 200);
        assert_eq!(
            deliver(&app, &partial).await,
            200,
            "a repeat changes nothing"
        );
        assert_eq!(statuses(&app, &order_id).await, paid);
    }
    assert_eq!(stock(&app, boot).await, 8);
    assert_eq!(
        refunds_of(&app, &payment.id).await,
        [
            ("PARTIAL".to_owned(), None, 300),
            ("PARTIAL".to_owned(), None, 200)
        ]
    );
    // The rest: refunded in full now, the order cancelled.
    let rest = charge_refunded(&payment.provider_ref, "ch_first", 1800, true);
    assert_eq!(deliver(&app, &rest).await, 200);
    assert_eq!(
        statuses(&app, &order_id).await,
        (
            "CANCELLED".to_owned(),
            "REFUNDED".to_owned(),
            "REFUNDED".to_owned()
        )
    );
    assert_eq!(stock(&app, boot).await, 10);
    assert_eq!(
        refunds_of(&app, &payment.id).await.last(),
        Some(&("FULL".to_owned(), None, 1300))
    );
}
