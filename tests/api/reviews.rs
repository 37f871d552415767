//! Reviews over HTTP: the verified-buyer rule for each order status, one review per user even
//! in parallel, validation, who may change what, and the product's rating figures (through the
//! catalog cache) after each write.

use emporium::reviews::review;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{add_to_cart, address, place_order, product, set_status};
use crate::helpers::{TestApp, burst, count, spawn_app};

/// An order of `product_id` by `token`'s user, moved to `status`.
async fn order_with(app: &TestApp, token: &str, product_id: i64, status: &str) {
    add_to_cart(app, token, json!({"product_id": product_id})).await;
    let body = json!({"shipping_address": address()});
    let (code, body) = place_order(app, token, body).await;
    assert_eq!(code, 201, "{body}");
    set_status(app, body["id"].as_str().expect("id"), status).await;
}

async fn review(app: &TestApp, token: &str, product_id: i64, body: Value) -> (u16, Value) {
    app.post(
        &format!("/api/products/{product_id}/reviews/"),
        Some(token),
        body,
    )
    .await
}

/// `(average_rating, review_count)` of the product as anyone reads it (detail, then list).
async fn rating(app: &TestApp, product_id: i64) -> (Value, Value) {
    let (_, detail) = app.get(&format!("/api/products/{product_id}/")).await;
    let (_, list) = app.get("/api/products/").await;
    let listed = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|p| p["id"] == product_id)
        .expect("listed")
        .clone();
    assert_eq!(
        (&listed["average_rating"], &listed["review_count"]),
        (&detail["average_rating"], &detail["review_count"]),
        "the list and the detail agree"
    );
    (
        detail["average_rating"].clone(),
        detail["review_count"].clone(),
    )
}

#[tokio::test]
async fn only_buyers_of_a_paid_shipped_or_delivered_order_may_review() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 100).await;
    let body = json!({"rating": 4, "title": "Good", "body": "Comfy."});
    let (status, _) = app
        .post(
            &format!("/api/products/{boot}/reviews/"),
            None,
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    for (status, allowed) in [
        ("PENDING", false),
        ("CANCELLED", false),
        ("PAID", true),
        ("SHIPPED", true),
        ("DELIVERED", true),
    ] {
        let token = app.customer_token().await;
        order_with(&app, &token, boot, status).await;
        let (code, answer) = review(&app, &token, boot, body.clone()).await;
        assert_eq!(code, if allowed { 201 } else { 403 }, "{status}: {answer}");
    }
    let stranger = app.customer_token().await;
    assert_eq!(review(&app, &stranger, boot, body.clone()).await.0, 403);
    // A buyer of another product is not a buyer of this one.
    let other = product(&app, &staff, "Hat", "5.00", 10).await;
    let hat_buyer = app.customer_token().await;
    order_with(&app, &hat_buyer, other, "PAID").await;
    assert_eq!(review(&app, &hat_buyer, boot, body).await.0, 403);
    assert_eq!(rating(&app, boot).await, (json!("4.00"), json!(3)));
}

#[tokio::test]
async fn parallel_reviews_by_one_buyer_make_one_review_and_409s() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let token = app.customer_token().await;
    order_with(&app, &token, boot, "DELIVERED").await;
    let answers = burst(8, |i| {
        app.request(
            Method::POST,
            &format!("/api/products/{boot}/reviews/"),
            Some(&token),
        )
        .json(&json!({"rating": 1 + i % 5}))
    })
    .await;
    assert_eq!(
        (count(&answers, 201), count(&answers, 409)),
        (1, 7),
        "{answers:?}"
    );
    let stored = review::Entity::find()
        .filter(review::Column::ProductId.eq(boot))
        .all(&app.state.db)
        .await
        .expect("reviews");
    assert_eq!(stored.len(), 1);
    let (_, count) = rating(&app, boot).await;
    assert_eq!(count, 1, "the product counts the one review");
}

#[tokio::test]
async fn bad_reviews_are_refused_and_text_comes_back_as_given() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let token = app.customer_token().await;
    order_with(&app, &token, boot, "PAID").await;
    let cases = [
        (json!({}), "rating", "This field is required."),
        (
            json!({"rating": 0}),
            "rating",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            json!({"rating": 6}),
            "rating",
            "Ensure this value is less than or equal to 5.",
        ),
        (
            json!({"rating": 4.5}),
            "rating",
            "A valid integer is required.",
        ),
        (
            json!({"rating": "five"}),
            "rating",
            "A valid integer is required.",
        ),
        (
            json!({"rating": 5, "title": "x".repeat(121)}),
            "title",
            "Ensure this field has no more than 120 characters.",
        ),
        (
            json!({"rating": 5, "body": "x".repeat(5001)}),
            "body",
            "Ensure this field has no more than 5000 characters.",
        ),
        (
            json!({"rating": 5, "title": "bell\u{7}"}),
            "title",
            "Null characters and control characters are not allowed.",
        ),
        (
            json!({"rating": 5, "body": "nul\u{0}"}),
            "body",
            "Null characters and control characters are not allowed.",
        ),
    ];
    for (body, field, message) in cases {
        let (status, answer) = review(&app, &token, boot, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer[field], json!([message]), "{body}");
    }
    assert_eq!(rating(&app, boot).await, (Value::Null, json!(0)));

    let title = "<script>alert('x')</script> & \"quotes\"";
    let body = "Line one.\nLine two\twith a tab. <b>bold?</b>";
    let (status, created) = review(
        &app,
        &token,
        boot,
        json!({"rating": 5, "title": title, "body": body}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["title"].as_str(), created["body"].as_str()),
        (Some(title), Some(body))
    );
    let (_, page) = app.get(&format!("/api/products/{boot}/reviews/")).await;
    assert_eq!(page["results"][0]["title"], title);
    assert_eq!(page["results"][0]["body"], body);
}

#[tokio::test]
async fn authors_change_their_own_reviews_and_staff_moderate() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let (author, other) = (app.customer_token().await, app.customer_token().await);
    app.patch(
        "/api/auth/me/",
        Some(&author),
        json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    order_with(&app, &author, boot, "PAID").await;
    order_with(&app, &other, boot, "PAID").await;
    let (_, mine) = review(&app, &author, boot, json!({"rating": 5, "title": "Great"})).await;
    let (_, theirs) = review(&app, &other, boot, json!({"rating": 3})).await;
    assert_eq!(mine["author"], "Ada L.", "a name, never an email");
    assert!(!mine.to_string().contains('@'));
    let (mine, theirs) = (
        mine["id"].as_i64().expect("id"),
        theirs["id"].as_i64().expect("id"),
    );

    let patch = |token: &str, id: i64, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move {
            app.patch(&format!("/api/reviews/{id}/"), Some(&token), body)
                .await
        }
    };
    let (status, changed) = patch(
        &author,
        mine,
        json!({"title": "Still great", "rating": 4, "user": 99, "product": 99}),
    )
    .await;
    assert_eq!(
        (status, &changed["title"], &changed["rating"]),
        (200, &json!("Still great"), &json!(4))
    );
    assert_eq!(changed["product"], boot, "the product is not writable");
    assert_eq!(patch(&other, mine, json!({"rating": 1})).await.0, 403);
    assert_eq!(
        patch(&staff, mine, json!({"rating": 1})).await.0,
        403,
        "staff moderate by deleting"
    );
    assert_eq!(patch(&author, 999_999, json!({"rating": 1})).await.0, 404);
    let delete = |token: &str, id: i64| {
        let token = token.to_owned();
        let app = &app;
        async move {
            app.delete(&format!("/api/reviews/{id}/"), Some(&token))
                .await
                .0
        }
    };
    assert_eq!(delete(&other, mine).await, 403);
    assert_eq!(delete(&staff, theirs).await, 204);
    assert_eq!(delete(&staff, theirs).await, 404);

    let (_, page) = app.get(&format!("/api/products/{boot}/reviews/")).await;
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0]["id"], mine);
    assert_eq!(delete(&author, mine).await, 204);
    let (status, _) = app.get("/api/products/999999/reviews/").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_rating_figures_follow_every_write_through_the_cache() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let mut buyers = Vec::new();
    for _ in 0..3 {
        let token = app.customer_token().await;
        order_with(&app, &token, boot, "DELIVERED").await;
        buyers.push(token);
    }
    assert_eq!(rating(&app, boot).await, (Value::Null, json!(0)));
    // Cached now; every write below must show on the next read.
    let (_, first) = review(&app, &buyers[0], boot, json!({"rating": 5})).await;
    assert_eq!(rating(&app, boot).await, (json!("5.00"), json!(1)));
    review(&app, &buyers[1], boot, json!({"rating": 4})).await;
    assert_eq!(rating(&app, boot).await, (json!("4.50"), json!(2)));
    let (_, third) = review(&app, &buyers[2], boot, json!({"rating": 4})).await;
    assert_eq!(rating(&app, boot).await, (json!("4.33"), json!(3)));
    let third = third["id"].as_i64().expect("id");
    app.patch(
        &format!("/api/reviews/{third}/"),
        Some(&buyers[2]),
        json!({"rating": 1}),
    )
    .await;
    assert_eq!(rating(&app, boot).await, (json!("3.33"), json!(3)));
    app.delete(&format!("/api/reviews/{third}/"), Some(&buyers[2]))
        .await;
    assert_eq!(rating(&app, boot).await, (json!("4.50"), json!(2)));
    let first = first["id"].as_i64().expect("id");
    app.delete(&format!("/api/reviews/{first}/"), Some(&staff))
        .await;
    assert_eq!(rating(&app, boot).await, (json!("4.00"), json!(1)));
    let (_, page) = app.get(&format!("/api/products/{boot}/reviews/")).await;
    assert_eq!(page["count"], 1);
}
