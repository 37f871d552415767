//! The events outbox: each event written in the transaction of its change — there when the
//! change committed, absent when it did not — with a stable id, its type, a sequence that
//! counts 1, 2, 3… per resource (also when the changes race), and the resource as staff see
//! it.

use emporium::events::event;
use emporium::events::service::{Resource, events_of};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{
    Basket, add_to_cart, address, customer_order, new_category, new_product, only_variant,
    pay_with_dummy, place_order, product, register,
};
use crate::helpers::{TestApp, burst, spawn_app};

/// `(type, sequence)` of a resource's events, oldest first, checking their ids.
async fn history(app: &TestApp, resource: Resource) -> Vec<(String, i64)> {
    events_of(&app.state.db, &resource)
        .await
        .expect("events")
        .into_iter()
        .map(|e| {
            assert!(
                e.id.starts_with("evt_") && e.id.len() == 36,
                "an event id: {}",
                e.id
            );
            (e.event_type.as_str(), e.sequence)
        })
        .collect()
}

async fn data(app: &TestApp, resource: Resource, sequence: i64) -> Value {
    let row = events_of(&app.state.db, &resource)
        .await
        .expect("events")
        .into_iter()
        .find(|e| e.sequence == sequence)
        .expect("the event");
    serde_json::from_str(&row.data).expect("JSON data")
}

fn seq(types: &[&str]) -> Vec<(String, i64)> {
    types
        .iter()
        .zip(1..)
        .map(|(t, n)| ((*t).to_owned(), n))
        .collect()
}

#[tokio::test]
async fn an_orders_events_follow_it_from_checkout_to_delivery_in_sequence() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let placed = customer_order(&app, &staff, Basket::boots(2)).await;
    let order = Resource::Order(placed.id.clone());
    assert_eq!(history(&app, order.clone()).await, seq(&["order.created"]));
    // The data is the order as the API shows it.
    let (_, shown) = app
        .get_as(&format!("/api/orders/{}/", placed.id), Some(&staff))
        .await;
    assert_eq!(data(&app, order.clone(), 1).await, shown);

    pay_with_dummy(&app, &placed.token, &placed.id, &[]).await;
    for status in ["SHIPPED", "DELIVERED"] {
        let (code, body) = app
            .patch(
                &format!("/api/orders/{}/status/", placed.id),
                Some(&staff),
                json!({"status": status}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }
    // A move the order cannot make records nothing.
    let (code, _) = app
        .post_empty(&format!("/api/orders/{}/cancel/", placed.id), Some(&staff))
        .await;
    assert_eq!(code, 409);
    assert_eq!(
        history(&app, order.clone()).await,
        seq(&[
            "order.created",
            "order.paid",
            "order.shipped",
            "order.delivered"
        ])
    );
    assert_eq!(data(&app, order, 4).await["status"], "DELIVERED");
}

#[tokio::test]
async fn a_checkout_refused_records_no_event_and_a_cancellation_one() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (first, second) = (app.customer_token().await, app.customer_token().await);
    let boot = product(&app, &staff, "Boot", "10.00", 1).await;
    for token in [&first, &second] {
        add_to_cart(&app, token, json!({"product_id": boot, "quantity": 1})).await;
    }
    let (status, placed) = place_order(&app, &first, json!({"shipping_address": address()})).await;
    assert_eq!(status, 201);
    // The last one is gone: this checkout is refused whole, and leaves no event.
    let (status, _) = place_order(&app, &second, json!({"shipping_address": address()})).await;
    assert_eq!(status, 409);
    let created = event::Entity::find()
        .filter(event::Column::Resource.starts_with("order:"))
        .all(&app.state.db)
        .await
        .expect("events");
    assert_eq!(created.len(), 1, "one order, one event");

    let id = placed["id"].as_str().expect("id");
    let (status, _) = app
        .post_empty(&format!("/api/orders/{id}/cancel/"), Some(&first))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        history(&app, Resource::Order(id.to_owned())).await,
        seq(&["order.created", "order.cancelled"])
    );
}

#[tokio::test]
async fn racing_checkouts_give_a_variant_one_low_and_one_out_event_in_sequence() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    // Eight in stock, the low-stock threshold at 5: eight buyers of one each race.
    let boot = product(&app, &staff, "Boot", "10.00", 8).await;
    let variant = only_variant(&app, boot).await;
    let buyers =
        crate::fixtures::buyers(&app, &[json!({"product_id": boot, "quantity": 1})], 8).await;
    let answers = burst(8, |n| {
        app.request(Method::POST, "/api/orders/create/", Some(&buyers[n]))
            .json(&json!({"shipping_address": address()}))
    })
    .await;
    assert!(answers.iter().all(|a| a.status == 201), "{answers:?}");
    assert_eq!(
        history(&app, Resource::Variant(variant)).await,
        seq(&["stock.low", "stock.out"])
    );
    let out = data(&app, Resource::Variant(variant), 2).await;
    assert_eq!(
        (&out["id"], &out["product_id"], &out["stock"]),
        (&json!(variant), &json!(boot), &json!(0))
    );
}

#[tokio::test]
async fn parallel_cancellations_record_one_event() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let placed = customer_order(&app, &staff, Basket::boots(1)).await;
    let answers = burst(6, |_| {
        app.request(
            Method::POST,
            &format!("/api/orders/{}/cancel/", placed.id),
            Some(&placed.token),
        )
    })
    .await;
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1);
    assert_eq!(
        history(&app, Resource::Order(placed.id)).await,
        seq(&["order.created", "order.cancelled"])
    );
}

#[tokio::test]
async fn customers_reviews_and_payments_have_their_events() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (status, user) = register(&app, "ada@example.com", "Correct-Horse-9").await;
    assert_eq!(status, 201);
    let id = user["id"].as_i64().expect("id");
    assert_eq!(
        history(&app, Resource::Customer(id)).await,
        seq(&["customer.created"])
    );
    let customer = data(&app, Resource::Customer(id), 1).await;
    assert_eq!(customer["email"], "ada@example.com");
    assert!(customer.get("password").is_none(), "{customer}");

    // A failed payment, then a paid one refunded by a staff cancellation.
    let placed = customer_order(&app, &staff, Basket::boots(1)).await;
    let (_, intent) = crate::fixtures::create_intent(&app, &placed.token, &placed.id, &[]).await;
    let payment_id = intent["payment_id"].as_str().expect("id").to_owned();
    app.post(
        &format!("/api/payments/{payment_id}/confirm/"),
        Some(&placed.token),
        json!({"outcome": "failed"}),
    )
    .await;
    assert_eq!(
        history(&app, Resource::Payment(payment_id.clone())).await,
        seq(&["payment.failed"])
    );
    let failed = data(&app, Resource::Payment(payment_id.clone()), 1).await;
    assert_eq!(failed["status"], "FAILED");
    assert!(failed.get("client_secret").is_none(), "{failed}");
    let paid = pay_with_dummy(&app, &placed.token, &placed.id, &[]).await;
    app.post_empty(&format!("/api/orders/{}/cancel/", placed.id), Some(&staff))
        .await;
    let refunded = crate::helpers::eventually(std::time::Duration::from_secs(10), || async {
        history(&app, Resource::Payment(paid.clone()))
            .await
            .iter()
            .any(|(t, _)| t == "payment.refunded")
    })
    .await;
    assert!(refunded, "payment.refunded recorded");

    // A review by the buyer.
    let category = new_category(&app, &staff, "Hats", None).await;
    let hat = new_product(
        &app,
        &staff,
        json!({"name": "Hat", "price": "5.00", "stock": 5, "category": category}),
    )
    .await;
    let hat_id = hat["id"].as_i64().expect("id");
    let buyer = app.customer_token().await;
    add_to_cart(&app, &buyer, json!({"product_id": hat_id})).await;
    let (_, order) = place_order(&app, &buyer, json!({"shipping_address": address()})).await;
    pay_with_dummy(&app, &buyer, order["id"].as_str().expect("id"), &[]).await;
    let (status, review) = app
        .post(
            &format!("/api/products/{hat_id}/reviews/"),
            Some(&buyer),
            json!({"rating": 4, "title": "Warm", "body": "Good hat."}),
        )
        .await;
    assert_eq!(status, 201, "{review}");
    let review_id = review["id"].as_i64().expect("id");
    assert_eq!(
        history(&app, Resource::Review(review_id)).await,
        seq(&["review.created"])
    );
    assert_eq!(data(&app, Resource::Review(review_id), 1).await, review);
}

#[tokio::test]
async fn a_products_events_carry_it_as_staff_see_it() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Lamps", None).await;
    let created = new_product(
        &app,
        &staff,
        json!({"name": "Lamp", "price": "30.00", "stock": 3, "category": category}),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    let (status, changed) = app
        .patch(
            &format!("/api/products/{id}/"),
            Some(&staff),
            json!({"name": "Desk lamp", "is_active": false}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    // A change refused (an unknown category) records nothing.
    let (status, _) = app
        .patch(
            &format!("/api/products/{id}/"),
            Some(&staff),
            json!({"category": 999_999}),
        )
        .await;
    assert_eq!(status, 400);
    // A change of one of its variants is a change of the product.
    let variant = only_variant(&app, id).await;
    let (status, _) = app
        .patch(
            &format!("/api/products/{id}/variants/{variant}/"),
            Some(&staff),
            json!({"weight_grams": 900}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        data(&app, Resource::Product(id), 3).await["variants"][0]["weight_grams"],
        900
    );
    let (status, _) = app
        .delete(&format!("/api/products/{id}/"), Some(&staff))
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        history(&app, Resource::Product(id)).await,
        seq(&[
            "product.created",
            "product.updated",
            "product.updated",
            "product.deleted"
        ])
    );
    assert_eq!(data(&app, Resource::Product(id), 1).await, created);
    assert_eq!(data(&app, Resource::Product(id), 2).await, changed);
    let deleted = data(&app, Resource::Product(id), 4).await;
    assert_eq!(
        (&deleted["name"], &deleted["is_active"]),
        (&json!("Desk lamp"), &json!(false))
    );
}

#[tokio::test]
async fn staff_adjustments_that_take_a_variant_low_or_out_record_stock_events() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let variant = only_variant(&app, boot).await;
    let stock = |body: Value| {
        let app = &app;
        let staff = staff.clone();
        async move {
            let (status, answer) = app
                .post(&format!("/api/products/{boot}/stock/"), Some(&staff), body)
                .await;
            assert_eq!(status, 200, "{answer}");
        }
    };
    stock(json!({"delta": -2})).await; // 10 → 8: above the threshold (5), nothing
    stock(json!({"delta": -4})).await; // 8 → 4: low
    stock(json!({"delta": 6})).await; // 4 → 10: up, nothing
    stock(json!({"set": 0, "expected": 10})).await; // 10 → 0: out
    assert_eq!(
        history(&app, Resource::Variant(variant)).await,
        seq(&["stock.low", "stock.out"])
    );
    assert_eq!(data(&app, Resource::Variant(variant), 1).await["stock"], 4);
}
