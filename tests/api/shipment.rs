//! Shipping an order: the carrier and tracking number staff give are kept on the order, shown
//! to its owner and mailed to them; when it shipped and arrived are recorded.

use emporium::jobs::job;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{Basket, order_of, set_status};
use crate::helpers::{TestApp, spawn_app};

async fn mails(app: &TestApp) -> Vec<Value> {
    job::Entity::find()
        .filter(job::Column::Kind.eq("email.send"))
        .all(&app.state.db)
        .await
        .expect("jobs")
        .iter()
        .map(|m| serde_json::from_str(&m.payload).expect("payload"))
        .collect()
}

#[tokio::test]
async fn a_shipped_order_keeps_its_tracking_number_and_the_customer_is_mailed_it() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let (id, _) = order_of(&app, &staff, &token, Basket::boots(1)).await;
    set_status(&app, &id, "PAID").await;
    let path = format!("/api/orders/{id}/status/");

    let (status, body) = app
        .patch(
            &path,
            Some(&staff),
            json!({"status": "SHIPPED", "tracking_number": "x".repeat(101)}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["tracking_number"].is_array(), "{body}");
    let (_, order) = app
        .get_as(&format!("/api/orders/{id}/"), Some(&token))
        .await;
    assert_eq!(order["status"], "PAID", "a refused move changes nothing");
    assert_eq!(order["shipped_at"], Value::Null);

    let before = mails(&app).await.len();
    let (status, body) = app
        .patch(
            &path,
            Some(&staff),
            json!({"status": "SHIPPED", "carrier": "DHL", "tracking_number": "JD0146 <b>"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["carrier"], &body["tracking_number"]),
        (&json!("DHL"), &json!("JD0146 <b>"))
    );
    assert!(body["shipped_at"].is_string() && body["delivered_at"].is_null());
    let (_, seen) = app
        .get_as(&format!("/api/orders/{id}/"), Some(&token))
        .await;
    assert_eq!(seen["tracking_number"], "JD0146 <b>", "its owner sees it");

    let sent = mails(&app).await;
    assert_eq!(sent.len(), before + 1, "one shipping confirmation");
    let mail = &sent[before];
    assert!(mail["to"].as_str().is_some_and(|to| to.contains('@')));
    let (text, html) = (mail["text"].as_str(), mail["html"].as_str());
    assert!(text.is_some_and(|t| t.contains("JD0146 <b>") && t.contains("DHL") && t.contains(&id)));
    assert!(
        html.is_some_and(|h| h.contains("JD0146 &lt;b&gt;") && !h.contains("<b>")),
        "escaped in the HTML part"
    );

    let (status, _) = app
        .patch(&path, Some(&staff), json!({"status": "SHIPPED"}))
        .await;
    assert_eq!(status, 409, "shipping twice: the second is refused");
    assert_eq!(mails(&app).await.len(), before + 1, "and mails nothing");

    let (status, body) = app
        .patch(
            &path,
            Some(&staff),
            json!({"status": "DELIVERED", "tracking_number": "other"}),
        )
        .await;
    assert_eq!(
        (status, &body["tracking_number"]),
        (400, &json!(["Only given when the order ships."]))
    );
    let (status, body) = app
        .patch(&path, Some(&staff), json!({"status": "DELIVERED"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["delivered_at"].is_string());
    assert_eq!(body["tracking_number"], "JD0146 <b>", "kept");
}
