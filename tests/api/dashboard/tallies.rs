//! The overview's tallies are kept by every writer in its own transaction: after orders are
//! placed, paid, cancelled (the paid ones refunded by the worker), shipped and delivered, many
//! at once, they say what counting the orders and refunds says — and what `emporium recount`
//! counts again. On every engine.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use emporium::orders::order;
use emporium::orders::staff as orders;
use emporium::payments::payment_refund::{self, RefundKind};
use emporium::payments::staff as payments;
use futures_util::FutureExt;
use futures_util::future::join_all;
use reqwest::Method;
use sea_orm::EntityTrait;
use serde_json::json;

use crate::fixtures::{add_to_cart, address, pay_with_dummy, product};
use crate::helpers::{TestApp, eventually, spawn_app};

/// What the tallies say: orders by status, and for the day around now the orders placed, the
/// paid totals and the refunds.
async fn tallied(app: &TestApp) -> (Vec<i64>, (i64, i64, i64)) {
    let db = &app.state.db;
    let now = Utc::now();
    let bounds = [now - TimeDelta::days(1), now + TimeDelta::days(1)];
    let by_status = orders::count_by_status(db).await.expect("statuses");
    let daily = orders::daily(db, &bounds).await.expect("daily");
    let refunded = payments::refunded_daily(db, &bounds)
        .await
        .expect("refunds");
    (
        by_status.into_iter().map(|(_, n)| n).collect(),
        (daily.placed[0], daily.paid_totals[0], refunded[0]),
    )
}

/// What counting the rows says, in the same shape.
async fn counted(app: &TestApp) -> (Vec<i64>, (i64, i64, i64)) {
    let db = &app.state.db;
    let rows = order::Entity::find().all(db).await.expect("orders");
    let by_status = order::OrderStatus::ALL
        .iter()
        .map(|s| rows.iter().filter(|o| o.status == *s).count() as i64)
        .collect();
    let placed = rows
        .iter()
        .filter(|o| o.status != order::OrderStatus::Cancelled)
        .count() as i64;
    let paid = rows
        .iter()
        .filter(|o| {
            matches!(
                o.payment_status,
                order::PaymentStatus::Paid | order::PaymentStatus::Refunded
            )
        })
        .map(|o| o.total_amount)
        .sum();
    let refunded = payment_refund::Entity::find()
        .all(db)
        .await
        .expect("refunds")
        .iter()
        .filter(|r| r.kind != RefundKind::ExtraCapture)
        .map(|r| r.amount)
        .sum();
    (by_status, (placed, paid, refunded))
}

#[tokio::test]
async fn the_tallies_agree_with_the_orders_after_many_move_at_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 1000).await;
    let mut customers = Vec::new();
    for n in 0..16 {
        let token = app.customer_token().await;
        let quantity = n % 3 + 1;
        let (status, _) = add_to_cart(
            &app,
            &token,
            json!({"product_id": boot, "quantity": quantity}),
        )
        .await;
        assert_eq!(status, 200);
        customers.push(token);
    }
    // Sixteen checkouts at once.
    let placed = join_all(customers.iter().map(|token| {
        app.post(
            "/api/orders/create/",
            Some(token),
            json!({"shipping_address": address()}),
        )
    }))
    .await;
    let ids: Vec<String> = placed
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["id"].as_str().expect("id").to_owned()
        })
        .collect();
    // Twelve paid at once; four left unpaid.
    join_all((0..12).map(|i| pay_with_dummy(&app, &customers[i], &ids[i], &[]))).await;
    // At once: staff cancel three paid orders (refunded by the worker) and ship four, customers
    // cancel two unpaid ones, and staff try to deliver one that is not shipped yet.
    let app = &app;
    let call = |method: Method, path: String, token: &str, body: Option<serde_json::Value>| {
        let token = token.to_owned();
        async move { app.call(method, &path, Some(&token), body).await.0 }.boxed()
    };
    let mut moves = Vec::new();
    for id in &ids[0..3] {
        moves.push(call(
            Method::POST,
            format!("/api/orders/{id}/cancel/"),
            &staff,
            None,
        ));
    }
    for (i, id) in ids.iter().enumerate().take(7).skip(3) {
        let body =
            json!({"status": "SHIPPED", "carrier": "DHL", "tracking_number": format!("T-{i}")});
        moves.push(call(
            Method::PATCH,
            format!("/api/orders/{id}/status/"),
            &staff,
            Some(body),
        ));
    }
    for i in 12..14 {
        let path = format!("/api/orders/{}/cancel/", ids[i]);
        moves.push(call(Method::POST, path, &customers[i], None));
    }
    let body = json!({"status": "DELIVERED"});
    let path = format!("/api/orders/{}/status/", ids[7]);
    moves.push(call(Method::PATCH, path, &staff, Some(body)));
    let answers: Vec<u16> = join_all(moves).await;
    assert_eq!(&answers[..9], &[200; 9], "every allowed move");
    assert_eq!(answers[9], 409, "not shipped, not delivered");
    let (status, _) = app
        .patch(
            &format!("/api/orders/{}/status/", ids[3]),
            Some(&staff),
            json!({"status": "DELIVERED"}),
        )
        .await;
    assert_eq!(status, 200);
    let refunds_done = eventually(Duration::from_secs(20), || async {
        let rows = order::Entity::find()
            .all(&app.state.db)
            .await
            .expect("orders");
        rows.iter()
            .filter(|o| o.payment_status == order::PaymentStatus::Refunded)
            .count()
            == 3
    })
    .await;
    assert!(
        refunds_done,
        "the worker refunded the three paid orders staff cancelled"
    );

    let counted = counted(app).await;
    // PENDING 4 − 2, PAID 12 − 3 − 4, SHIPPED 4 − 1, DELIVERED 1, CANCELLED 3 + 2.
    assert_eq!(counted.0, vec![2, 5, 3, 1, 5]);
    assert_eq!(counted.1.0, 11);
    assert!(counted.1.2 > 0, "refunds were made");
    assert_eq!(tallied(app).await, counted, "the writers' tallies");
    emporium::db::migrations::recount_tallies(&app.state.db)
        .await
        .expect("recount");
    assert_eq!(tallied(app).await, counted, "counted again from the rows");
}
