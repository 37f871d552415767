//! `Idempotency-Key` on every POST that creates or adds: cart add, addresses, reviews, and the
//! staff creations (categories, products, coupons, product images). A retry with the same key
//! answers the first response with `Idempotent-Replayed: true` and creates nothing new; the
//! same key with a different request → 422; a refused request leaves the key free; ten retries
//! at once add once.

use emporium::accounts::address;
use emporium::catalog::{category, product_image};
use emporium::coupons::coupon;
use emporium::reviews::review;
use reqwest::Method;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::fixtures::{Basket, cart, new_category, paid_order, product};
use crate::helpers::{TestApp, burst, spawn_app};
use crate::media::PNG;

/// POSTs `body` to `path` as `token`'s user with `key`: (status, replayed?, body).
async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> (u16, bool, Value) {
    let response = app
        .request(Method::POST, path, Some(token))
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, replayed, response.json().await.expect("json"))
}

/// The same request twice with one key: the first answer twice, the second replayed; then the
/// key with another body → 422.
async fn retried(app: &TestApp, path: &str, token: &str, body: Value, other: Value) -> Value {
    let key = format!("key-{}", uuid::Uuid::new_v4().simple());
    let (status, replayed, first) = post_keyed(app, path, token, &key, body.clone()).await;
    assert!(
        (200..300).contains(&status) && !replayed,
        "{path}: {status} {first}"
    );
    let (again, replayed, second) = post_keyed(app, path, token, &key, body).await;
    assert_eq!((again, replayed), (status, true), "{path}");
    assert_eq!(second, first, "{path}: the first answer");
    let (status, _, refused) = post_keyed(app, path, token, &key, other).await;
    assert_eq!(status, 422, "{path}: {refused}");
    first
}

/// How many rows `E`'s table holds now.
async fn rows<E>(app: &TestApp) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find().count(&app.state.db).await.expect("count")
}

#[tokio::test]
async fn retried_cart_adds_and_addresses_add_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let line = json!({"product_id": boot, "quantity": 2});
    retried(
        &app,
        "/api/cart/add/",
        &token,
        line,
        json!({"product_id": boot, "quantity": 3}),
    )
    .await;
    assert_eq!(cart(&app, &token).await["items"][0]["quantity"], 2);

    let address = crate::fixtures::address();
    let mut other = address.clone();
    other["city"] = json!("Shelbyville");
    retried(&app, "/api/auth/addresses/", &token, address, other).await;
    assert_eq!(rows::<address::Entity>(&app).await, 1);
}

#[tokio::test]
async fn ten_cart_adds_at_once_with_one_key_add_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 50).await;
    let answers = burst(10, |_| {
        app.request(Method::POST, "/api/cart/add/", Some(&token))
            .header("Idempotency-Key", "one-add")
            .json(&json!({"product_id": boot, "quantity": 1}))
    })
    .await;
    // Each answer is the first add's cart, or (still running after the wait) a 409.
    for answer in &answers {
        assert!(
            answer.status == 200 && answer.body["items"][0]["quantity"] == 1
                || answer.status == 409,
            "{answer:?}"
        );
    }
    assert_eq!(cart(&app, &token).await["items"][0]["quantity"], 1);
}

#[tokio::test]
async fn a_refused_request_leaves_its_key_free_and_keys_are_per_user() {
    let app = spawn_app().await;
    let token = app.customer_token().await;
    let (status, _, _) = post_keyed(
        &app,
        "/api/auth/addresses/",
        &token,
        "k1",
        json!({"full_name": "Ada"}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, replayed, _) = post_keyed(
        &app,
        "/api/auth/addresses/",
        &token,
        "k1",
        crate::fixtures::address(),
    )
    .await;
    assert_eq!((status, replayed), (201, false), "the fixed request runs");
    let other = app.customer_token().await;
    let (status, replayed, _) = post_keyed(
        &app,
        "/api/auth/addresses/",
        &other,
        "k1",
        crate::fixtures::address(),
    )
    .await;
    assert_eq!((status, replayed), (201, false), "another user's key");
    assert_eq!(rows::<address::Entity>(&app).await, 2);
}

#[tokio::test]
async fn retried_reviews_and_staff_creations_create_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (placed, _) = paid_order(&app, &staff, Basket::boots(1), &[]).await;
    let path = format!("/api/products/{}/reviews/", placed.product);
    let review = json!({"rating": 5, "title": "Good", "body": "Warm."});
    let other = json!({"rating": 4, "title": "Good", "body": "Warm."});
    retried(&app, &path, &placed.token, review, other).await;
    assert_eq!(rows::<review::Entity>(&app).await, 1);

    let categories = rows::<category::Entity>(&app).await;
    retried(
        &app,
        "/api/categories/",
        &staff,
        json!({"name": "Hats"}),
        json!({"name": "Caps"}),
    )
    .await;
    assert_eq!(rows::<category::Entity>(&app).await, categories + 1);

    let shelf = new_category(&app, &staff, "Shelf", None).await;
    let hat = json!({"name": "Hat", "price": "5.00", "stock": 3, "category": shelf});
    let mut cap = hat.clone();
    cap["name"] = json!("Cap");
    let created = retried(&app, "/api/products/", &staff, hat, cap).await;
    let (_, list) = app.get_as("/api/products/?search=Hat", Some(&staff)).await;
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["results"][0]["id"], created["id"]);

    let code = json!({"code": "ONCE", "kind": "fixed", "value": "1.00"});
    let other = json!({"code": "TWICE", "kind": "fixed", "value": "1.00"});
    retried(&app, "/api/coupons/", &staff, code, other).await;
    assert_eq!(rows::<coupon::Entity>(&app).await, 1);
}

#[tokio::test]
async fn a_retried_image_upload_stores_one_image_whatever_the_boundary() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 1).await;
    let path = format!("/api/products/{boot}/images/");
    let upload = || {
        // A new form each time: reqwest picks a new boundary, as a retrying client would.
        let form = reqwest::multipart::Form::new()
            .part(
                "image",
                reqwest::multipart::Part::bytes(PNG.to_vec())
                    .file_name("boot.png")
                    .mime_str("image/png")
                    .expect("mime"),
            )
            .text("is_primary", "true");
        app.request(Method::POST, &path, Some(&staff))
            .header("Idempotency-Key", "upload-1")
            .multipart(form)
            .send()
    };
    let first = upload().await.expect("sent");
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let again = upload().await.expect("sent");
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(rows::<product_image::Entity>(&app).await, 1);
}
