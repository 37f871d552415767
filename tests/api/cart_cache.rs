//! The cart read from the catalog's cache: the cart's own rows come from the database, every
//! product, variant and image from the same never-stale cache the catalog uses — so a price,
//! stock or activity change is in the very next cart read, on this node and on another.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::fixtures::{add_to_cart, cart, product};
use crate::helpers::{Spawn, TestApp, spawn, spawn_app};
use crate::inventory::two_nodes;

/// `(unit price, available, message)` of every line, in the cart's order.
fn shown(cart: &Value) -> Vec<(String, bool, Option<String>)> {
    cart["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|line| {
            (
                line["unit_price"].as_str().expect("price").to_owned(),
                line["available"].as_bool().expect("available"),
                line["message"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// A cart read on `node`, with the statements it ran there.
async fn read(node: &TestApp, token: &str) -> (Value, u64) {
    let before = node.state.queries.load(Ordering::SeqCst);
    let body = cart(node, token).await;
    (body, node.state.queries.load(Ordering::SeqCst) - before)
}

/// Three products in a customer's cart on `writer`; their ids and the customer's token.
async fn three_lines(writer: &TestApp, staff: &str) -> ([i64; 3], String) {
    let token = writer.customer_token().await;
    let mut ids = [0; 3];
    for (n, name) in ["Boot", "Sock", "Hat"].iter().enumerate() {
        ids[n] = product(writer, staff, name, "5.00", 10).await;
        let (status, body) =
            add_to_cart(writer, &token, json!({"product_id": ids[n], "quantity": 2})).await;
        assert_eq!(status, 200, "{body}");
    }
    (ids, token)
}

/// Staff change the first product through `writer` in every way a cart line shows — price,
/// stock, activity — and `reader`'s next cart read shows each at once; in between, a read of
/// an unchanged cart runs two statements (the user, the cart with its lines).
async fn assert_cart_reads_are_cached_and_never_stale(writer: &TestApp, reader: &TestApp) {
    let staff = writer.staff_token().await;
    let ([boot, ..], token) = three_lines(writer, &staff).await;
    let available = |price: &str| (price.to_owned(), true, None);
    read(reader, &token).await;
    let (body, statements) = read(reader, &token).await;
    assert_eq!(statements, 2, "the user and the cart: {body}");
    assert_eq!(shown(&body), vec![available("5.00"); 3]);

    let detail = format!("/api/products/{boot}/");
    let (status, _) = writer
        .patch(&detail, Some(&staff), json!({"price": "7.25"}))
        .await;
    assert_eq!(status, 200);
    let (body, _) = read(reader, &token).await;
    assert_eq!(shown(&body)[0], available("7.25"), "the new price at once");
    assert_eq!(body["subtotal"], "34.50", "{body}");
    assert_eq!(read(reader, &token).await.1, 2, "cached again");

    let stock = format!("/api/products/{boot}/stock/");
    let (status, _) = writer
        .post(&stock, Some(&staff), json!({"delta": -9}))
        .await;
    assert_eq!(status, 200);
    let (body, _) = read(reader, &token).await;
    let (_, can_buy, message) = shown(&body)[0].clone();
    assert!(!can_buy, "one left, two wanted: {body}");
    assert_eq!(message.as_deref(), Some("Only 1 left in stock."), "{body}");
    assert_eq!(body["subtotal"], "20.00", "{body}");

    let (status, _) = writer.post(&stock, Some(&staff), json!({"delta": 9})).await;
    assert_eq!(status, 200);
    assert_eq!(shown(&read(reader, &token).await.0)[0], available("7.25"));
    let (status, _) = writer
        .patch(&detail, Some(&staff), json!({"is_active": false}))
        .await;
    assert_eq!(status, 200);
    let (body, _) = read(reader, &token).await;
    let (_, can_buy, message) = shown(&body)[0].clone();
    assert!(!can_buy, "{body}");
    assert_eq!(
        message.as_deref(),
        Some("This product is no longer available.")
    );
    assert_eq!(read(reader, &token).await.1, 2, "cached again");
}

#[tokio::test]
async fn a_cart_read_takes_its_products_from_the_cache_and_sees_every_change_at_once() {
    // No worker: its loops' statements would be counted with the reads'.
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    assert_cart_reads_are_cached_and_never_stale(&app, &app).await;
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_a_change_on_one_node_is_in_the_other_nodes_next_cart_read() {
    let (a, b) = two_nodes(&[]).await;
    assert_cart_reads_are_cached_and_never_stale(&b, &a).await;
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_an_order_on_one_node_is_in_the_stock_another_nodes_cart_shows() {
    let (a, b) = two_nodes(&[]).await;
    let staff = b.staff_token().await;
    let ([boot, ..], token) = three_lines(&a, &staff).await;
    let other = b.customer_token().await;
    for round in 0..4_i64 {
        // Node A shows the boot's stock from its cache…
        read(&a, &token).await;
        let (body, statements) = read(&a, &token).await;
        assert_eq!(statements, 2, "round {round}: {body}");
        // …another customer orders two on node B…
        let (status, body) =
            add_to_cart(&b, &other, json!({"product_id": boot, "quantity": 2})).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = b
            .post(
                "/api/orders/create/",
                Some(&other),
                json!({"shipping_address": crate::fixtures::address()}),
            )
            .await;
        assert_eq!(status, 201, "round {round}: {body}");
        // …and A's next read knows: after the fourth order none is left.
        let (body, _) = read(&a, &token).await;
        let left = 10 - 2 * (round + 1);
        let (_, can_buy, message) = shown(&body)[0].clone();
        assert_eq!(can_buy, left >= 2, "round {round}: {body}");
        if left < 2 {
            assert_eq!(
                message.as_deref(),
                Some("This product is out of stock."),
                "{body}"
            );
        }
    }
}

/// A shop that ships to the US at 4.90 with 8.25 % sales tax, set up by staff through the API
/// on `writer`; a customer of one 10.00 line who chose the method; the method's and the
/// rate's ids and the customer's token.
async fn shipping_shop(writer: &TestApp, staff: &str) -> (i64, i64, String) {
    let (status, zone) = writer
        .post(
            "/api/shipping/zones/",
            Some(staff),
            json!({"name": "US", "countries": ["US"]}),
        )
        .await;
    assert_eq!(status, 201, "{zone}");
    let (status, method) = writer
        .post(
            "/api/shipping/methods/",
            Some(staff),
            json!({"zone": zone["id"], "name": "Standard", "kind": "flat", "price": "4.90"}),
        )
        .await;
    assert_eq!(status, 201, "{method}");
    let (status, rate) = writer
        .post(
            "/api/tax/rates/",
            Some(staff),
            json!({"country": "US", "rate": "8.25", "name": "Sales tax"}),
        )
        .await;
    assert_eq!(status, 201, "{rate}");
    let token = writer.customer_token().await;
    let boot = product(writer, staff, "Boot", "10.00", 10).await;
    add_to_cart(writer, &token, json!({"product_id": boot})).await;
    let chosen = writer
        .request(reqwest::Method::PUT, "/api/cart/shipping/", Some(&token))
        .json(&json!({"address": crate::fixtures::address(), "method_id": method["id"]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(chosen.status(), 200);
    let ids = (
        method["id"].as_i64().expect("id"),
        rate["id"].as_i64().expect("id"),
    );
    (ids.0, ids.1, token)
}

/// `(shipping, tax, total, shipping message)` of a cart.
fn charges(cart: &Value) -> (Value, Value, Value, Value) {
    (
        cart["shipping"].clone(),
        cart["tax"].clone(),
        cart["total"].clone(),
        cart["shipping_message"].clone(),
    )
}

/// Staff change the method and the rate through `writer`; `reader`'s next cart read (and
/// checkout) charges the new amounts, while a read of an unchanged shop runs two statements.
async fn assert_shipping_and_tax_are_cached_and_never_stale(writer: &TestApp, reader: &TestApp) {
    let staff = writer.staff_token().await;
    let (method, rate, token) = shipping_shop(writer, &staff).await;
    read(reader, &token).await;
    let (body, statements) = read(reader, &token).await;
    assert_eq!(statements, 2, "the user and the cart: {body}");
    // 10.00 + 4.90 shipping; tax 8.25 % of both: 0.825 + 0.40425 → 0.83 + 0.40 = 1.23.
    let null = Value::Null;
    assert_eq!(
        charges(&body),
        (json!("4.90"), json!("1.23"), json!("16.13"), null.clone())
    );

    let path = format!("/api/shipping/methods/{method}/");
    let (status, _) = writer
        .patch(&path, Some(&staff), json!({"price": "6.00"}))
        .await;
    assert_eq!(status, 200);
    // Tax 0.825 + 0.495 → 0.83 + 0.50 = 1.33.
    let (body, _) = read(reader, &token).await;
    assert_eq!(
        charges(&body),
        (json!("6.00"), json!("1.33"), json!("17.33"), null.clone())
    );
    assert_eq!(read(reader, &token).await.1, 2, "cached again");

    let path = format!("/api/tax/rates/{rate}/");
    let (status, _) = writer
        .patch(&path, Some(&staff), json!({"rate": "10.00"}))
        .await;
    assert_eq!(status, 200);
    let (body, _) = read(reader, &token).await;
    assert_eq!(
        charges(&body),
        (json!("6.00"), json!("1.60"), json!("17.60"), null.clone())
    );

    let path = format!("/api/shipping/methods/{method}/");
    let (status, _) = writer
        .patch(&path, Some(&staff), json!({"is_active": false}))
        .await;
    assert_eq!(status, 200);
    let (body, _) = read(reader, &token).await;
    assert_eq!(body["shipping"], Value::Null, "{body}");
    assert_eq!(
        body["shipping_message"], "The shipping method you chose is no longer available.",
        "{body}"
    );
    // The checkout on the reader refuses the method the cache no longer shows.
    let (status, body) = reader
        .post(
            "/api/orders/create/",
            Some(&token),
            json!({"shipping_method_id": method}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["shipping_method_id"].is_array(), "{body}");
}

#[tokio::test]
async fn shipping_and_tax_come_from_the_cache_and_a_staff_change_is_charged_at_once() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    assert_shipping_and_tax_are_cached_and_never_stale(&app, &app).await;
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_a_shipping_or_tax_change_on_one_node_is_charged_by_the_other_at_once() {
    let (a, b) = two_nodes(&[]).await;
    assert_shipping_and_tax_are_cached_and_never_stale(&b, &a).await;
}

#[tokio::test]
async fn an_image_added_is_on_every_line_of_its_product_at_the_next_read() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let tee = crate::variants::tee(&app, &staff, 5).await;
    let id = tee["id"].as_i64().expect("id");
    for variant in tee["variants"].as_array().expect("variants").iter().take(2) {
        let (status, body) = add_to_cart(&app, &token, json!({"variant_id": variant["id"]})).await;
        assert_eq!(status, 200, "{body}");
    }
    let images = |cart: &Value| -> Vec<bool> {
        cart["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|line| line["product"]["image"].is_string())
            .collect()
    };
    assert_eq!(images(&cart(&app, &token).await), vec![false, false]);
    let jpeg = crate::image_files::jpeg(64, 48, None);
    let (status, body) = crate::image_sizes::upload(&app, &staff, id, &jpeg).await;
    assert_eq!(status, 201, "{body}");
    // Both lines of the product show it (each line's entry holds its product's images).
    assert_eq!(images(&cart(&app, &token).await), vec![true, true]);
}
