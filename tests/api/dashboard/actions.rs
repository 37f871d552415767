//! The rest of the dashboard's actions through their forms: delivered, the invoice downloaded,
//! a review deleted (its product's rating moves back), a category renamed, moved and refused
//! deletion while it has products — each needing the session's token.

use serde_json::json;

use super::signed_in;
use crate::fixtures::{Basket, category_of, paid_order};
use crate::helpers::spawn_app;

#[tokio::test]
async fn an_order_is_delivered_and_its_invoice_downloaded() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (placed, _) = paid_order(&app, &staff, Basket::boots(1), &[]).await;
    let id = placed.id;
    let (mut browser, _) = signed_in(&app).await;
    let csrf = browser.csrf().await;
    let path = format!("/admin/orders/{id}/");
    assert_eq!(
        browser
            .post(&format!("{path}ship/"), &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    assert_eq!(
        browser.post(&format!("{path}deliver/"), &[]).await.status,
        403,
        "no token"
    );
    let page = browser
        .post(&format!("{path}deliver/"), &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (_, seen) = app
        .get_as(&format!("/api/orders/{id}/"), Some(&placed.token))
        .await;
    assert_eq!(seen["status"], "DELIVERED");
    assert!(seen["delivered_at"].is_string());

    let page = browser.get(&format!("{path}invoice/")).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    assert!(page.body.starts_with("%PDF"), "a PDF");
    let mut stranger = super::Browser::new(&app);
    assert_eq!(
        stranger.get(&format!("{path}invoice/")).await.status,
        303,
        "staff only"
    );
}

#[tokio::test]
async fn a_review_is_deleted_and_the_rating_moves_back() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (placed, _) = paid_order(&app, &staff, Basket::boots(1), &[]).await;
    let (status, review) = app
        .post(
            &format!("/api/products/{}/reviews/", placed.product),
            Some(&placed.token),
            json!({"rating": 2, "title": "<i>meh</i>", "body": "Tight."}),
        )
        .await;
    assert_eq!(status, 201, "{review}");
    let id = review["id"].as_i64().expect("id");
    let (mut browser, _) = signed_in(&app).await;
    let page = browser.get("/admin/reviews/").await;
    assert!(
        page.body.contains("&#60;i&#62;meh") && !page.body.contains("<i>meh"),
        "escaped"
    );
    let csrf = page.csrf();
    let path = format!("/admin/reviews/{id}/delete/");
    assert_eq!(browser.post(&path, &[]).await.status, 403);
    assert_eq!(browser.post(&path, &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(
        browser.post(&path, &[("csrf", &csrf)]).await.status,
        303,
        "twice is once"
    );
    let (_, product) = app.get(&format!("/api/products/{}/", placed.product)).await;
    assert_eq!(product["review_count"], 0);
}

#[tokio::test]
async fn a_category_is_renamed_moved_and_kept_while_it_has_products() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let parent = category_of(&app, &staff, json!({"name": "Apparel"})).await;
    let child = category_of(&app, &staff, json!({"name": "Tees"})).await;
    let (mut browser, _) = signed_in(&app).await;
    let csrf = browser.csrf().await;
    let path = format!("/admin/categories/{child}/");
    let parent_text = parent.to_string();
    let page = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("name", "T-shirts"),
                ("parent", &parent_text),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (_, moved) = app.get(&format!("/api/categories/{child}/")).await;
    assert_eq!(
        (&moved["name"], &moved["parent"]),
        (&json!("T-shirts"), &json!(parent))
    );
    let page = browser
        .post(
            &format!("/admin/categories/{parent}/"),
            &[
                ("csrf", &csrf),
                ("name", "Apparel"),
                ("parent", &child.to_string()),
            ],
        )
        .await;
    assert_eq!(
        page.status, 400,
        "a loop is refused with the API's error: {}",
        page.body
    );
    // A name emptied is refused beside it, not "saved" with the old name kept.
    let page = browser
        .post(
            &path,
            &[("csrf", &csrf), ("name", "  "), ("parent", &parent_text)],
        )
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("errorlist"), "the error beside the name");
    let page = browser.get("/admin/categories/").await;
    assert!(page.body.contains("— T-shirts"), "shown under its parent");

    let page = browser
        .post(
            &format!("/admin/categories/{parent}/delete/"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 409, "it has a sub-category: {}", page.body);
}
