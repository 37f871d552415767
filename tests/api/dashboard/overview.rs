//! The overview's figures: orders placed today (not cancelled), revenue (paid orders' totals,
//! refunds taken off on the day they were made), orders by status, and what needs attention.

use emporium::payments::payment_refund::{self, RefundKind};
use sea_orm::{ActiveModelTrait, Set};

use super::signed_in;
use crate::fixtures::{Basket, customer_order, paid_order};
use crate::helpers::spawn_app;

/// The number shown before `label` in the overview's figures.
fn figure(body: &str, label: &str) -> String {
    let at = body
        .find(label)
        .unwrap_or_else(|| panic!("{label} on the page"));
    let value = "<span class=\"value\">";
    let start = body[..at].rfind(value).expect("a value") + value.len();
    let end = body[start..].find('<').expect("end");
    body[start..start + end].to_owned()
}

#[tokio::test]
async fn today_s_figures_count_what_was_placed_and_paid_less_refunds() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    // Paid: 2 × 10.00 and 3 × 10.00; unpaid: 1 × 10.00; a cancelled one is not counted.
    let (_, first) = paid_order(&app, &staff, Basket::boots(2), &[]).await;
    paid_order(&app, &staff, Basket::boots(3), &[]).await;
    customer_order(&app, &staff, Basket::boots(1)).await;
    let cancelled = customer_order(&app, &staff, Basket::boots(1)).await;
    let (status, _) = app
        .post_empty(
            &format!("/api/orders/{}/cancel/", cancelled.id),
            Some(&cancelled.token),
        )
        .await;
    assert_eq!(status, 200);
    // 4.50 of the first was refunded at the provider today; a second capture's refund is not
    // revenue given back.
    for (kind, amount) in [(RefundKind::Partial, 450), (RefundKind::ExtraCapture, 2000)] {
        payment_refund::ActiveModel {
            payment_id: Set(first.clone()),
            provider_event_id: Set(format!("evt_{}", uuid::Uuid::new_v4().simple())),
            captured_ref: Set(None),
            kind: Set(kind),
            amount: Set(amount),
            created_at: Set(emporium::time::now()),
            ..Default::default()
        }
        .insert(&app.state.db)
        .await
        .expect("refund");
    }

    let (mut browser, _) = signed_in(&app).await;
    let page = browser.get("/admin/").await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert_eq!(figure(body, "orders placed"), "3");
    assert_eq!(
        figure(body, "revenue</span>"),
        "45.50 USD",
        "50.00 paid − 4.50 refunded"
    );
    assert_eq!(figure(body, ">PAID<"), "2");
    assert_eq!(figure(body, ">PENDING<"), "1");
    assert_eq!(figure(body, ">CANCELLED<"), "1");
    assert_eq!(figure(body, "variants at or below"), "0");
    assert!(body.contains("<rect class=\"bar\""), "the chart");
}

async fn counted_once(settings: Vec<(&'static str, String)>) {
    use std::sync::atomic::Ordering;
    let app = crate::helpers::spawn(crate::helpers::Spawn {
        no_worker: true,
        settings,
        ..Default::default()
    })
    .await;
    let (mut browser, _) = signed_in(&app).await;
    let first = browser.get("/admin/").await;
    assert_eq!(first.status, 200);
    let before = app.state.queries.load(Ordering::SeqCst);
    let again = browser.get("/admin/").await;
    let statements = app.state.queries.load(Ordering::SeqCst) - before;
    assert_eq!(again.status, 200);
    assert!(
        statements <= 2,
        "the second look within the minute reads the session only: {statements} statements"
    );
}

#[tokio::test]
async fn the_overview_counts_at_most_once_a_minute() {
    counted_once(Vec::new()).await;
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_the_overview_counts_at_most_once_a_minute() {
    counted_once(crate::helpers::shared_redis(&[])).await;
}
