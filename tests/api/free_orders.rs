//! An order with nothing to pay — a coupon as large as the cart — is paid when it is placed:
//! `PAID`/`PAID`, its invoice and confirmation queued as for any paid order, no provider asked,
//! no expiry, and a checkout no dearer in statements than a paid-for one.

use std::sync::atomic::Ordering;

use emporium::jobs::job;
use emporium::orders::order;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::fixtures::{add_to_cart, create_intent, new_address, product};
use crate::helpers::{Spawn, TestApp, spawn};
use crate::stripe_standin::Stripe;

async fn kinds_queued(app: &TestApp) -> Vec<String> {
    job::Entity::find()
        .all(&app.state.db)
        .await
        .expect("jobs")
        .into_iter()
        .map(|j| j.kind.0)
        .collect()
}

/// A fixed coupon `FREE20` of 20.00, as large as a cart of two boots at 10.00.
async fn free_coupon(app: &TestApp, staff: &str) {
    let (status, body) = app
        .post(
            "/api/coupons/",
            Some(staff),
            json!({"code": "FREE20", "kind": "fixed", "value": "20.00"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn an_order_whose_coupon_covers_the_cart_is_paid_as_placed_without_the_provider() {
    let stripe = Stripe::start().await;
    let app = spawn(Spawn {
        settings: stripe.settings(),
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    free_coupon(&app, &staff).await;
    let token = app.customer_token().await;
    let address = new_address(&app, &token).await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2})).await;
    let (status, cart) = app
        .post("/api/cart/coupon/", Some(&token), json!({"code": "FREE20"}))
        .await;
    assert_eq!((status, &cart["total"]), (200, &json!("0.00")), "{cart}");

    let before = app.state.queries.load(Ordering::SeqCst);
    let response = app
        .request(Method::POST, "/api/orders/create/", Some(&token))
        .header("Idempotency-Key", "free-order")
        .json(&json!({"shipping_address_id": address}))
        .send()
        .await
        .expect("sent");
    let statements = app.state.queries.load(Ordering::SeqCst) - before;
    assert_eq!(response.status(), 201);
    let placed: serde_json::Value = response.json().await.expect("json");
    assert!(statements <= 22, "{statements} statements");
    assert_eq!(
        (
            &placed["status"],
            &placed["payment_status"],
            &placed["subtotal"],
            &placed["discount"],
            &placed["total_amount"]
        ),
        (
            &json!("PAID"),
            &json!("PAID"),
            &json!("20.00"),
            &json!("20.00"),
            &json!("0.00")
        )
    );
    let order_id = placed["id"].as_str().expect("id").to_owned();
    let stored = order::Entity::find_by_id(order_id.clone())
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("order");
    assert_eq!(
        (
            stored.status.as_str(),
            stored.payment_status.as_str(),
            stored.total_amount
        ),
        ("PAID", "PAID", 0)
    );
    let kinds = kinds_queued(&app).await;
    assert!(kinds.iter().any(|k| k == "orders.invoice"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "orders.expire"), "{kinds:?}");

    let (status, body) = create_intent(&app, &token, &order_id, &[]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["detail"], "An order that is PAID cannot be paid.");
    assert!(stripe.received().is_empty(), "the provider is never asked");

    // The invoice job runs as for any paid order: the PDF and the confirmation email.
    let invoice = job::Entity::find()
        .filter(job::Column::Kind.eq("orders.invoice"))
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("queued");
    let ctx = emporium::jobs::JobContext {
        state: app.state.clone(),
        job_id: invoice.id,
        attempt: 1,
    };
    let payload = serde_json::from_str(&invoice.payload).expect("payload");
    crate::helpers::run_job::<emporium::orders::invoice::MakeInvoice>(ctx, payload)
        .await
        .expect("issued");
    let pdf = app
        .request(
            Method::GET,
            &format!("/api/orders/{order_id}/invoice/"),
            Some(&token),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(pdf.status(), 200);
    let pdf = pdf.bytes().await.expect("pdf");
    assert!(crate::invoices::pdf_text(&pdf).contains("Total: 0.00 USD"));
    assert!(
        kinds_queued(&app).await.iter().any(|k| k == "email.send"),
        "the confirmation is queued"
    );
}

#[tokio::test]
async fn a_coupon_smaller_than_the_cart_leaves_the_order_to_be_paid() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    free_coupon(&app, &staff).await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 3})).await;
    let (status, placed) = app
        .post(
            "/api/orders/create/",
            Some(&token),
            json!({"shipping_address": crate::fixtures::address(), "coupon_code": "FREE20"}),
        )
        .await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(
        (
            &placed["status"],
            &placed["payment_status"],
            &placed["total_amount"]
        ),
        (&json!("PENDING"), &json!("UNPAID"), &json!("10.00"))
    );
    let kinds = kinds_queued(&app).await;
    assert!(kinds.iter().any(|k| k == "orders.expire"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "orders.invoice"), "{kinds:?}");
}
