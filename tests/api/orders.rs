//! Orders over HTTP: checkout from the cart, all or nothing; racing buyers on one and on two
//! application instances; idempotent creation; cancellation and expiry that return stock once;
//! the status lifecycle; another user's orders; stock alerts; the statement budget.

use crate::helpers::run_job;
use emporium::jobs::Job;
use std::sync::atomic::Ordering;
use std::time::Duration;

use emporium::catalog::stock_movement;
use emporium::coupons::coupon;
use emporium::jobs::{JobContext, job};
use emporium::orders::{alerts, lifecycle, order};
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{
    Basket, add_to_cart, address, cart, new_address, order_of, place_order, product, set_status,
    stock,
};
use crate::helpers::{
    Answer, Spawn, TestApp, TestDatabase, burst, count, eventually, spawn, spawn_app,
};

async fn orders_in_db(app: &TestApp) -> Vec<order::Model> {
    order::Entity::find()
        .all(&app.state.db)
        .await
        .expect("orders")
}

async fn jobs_of(app: &TestApp, kind: &str) -> Vec<job::Model> {
    job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .all(&app.state.db)
        .await
        .expect("jobs")
}

fn ctx(app: &TestApp) -> JobContext {
    JobContext {
        state: app.state.clone(),
        job_id: 0,
        attempt: 1,
    }
}

#[tokio::test]
async fn checkout_turns_the_cart_into_an_order_with_copies_of_prices_and_address() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "51.44", 10).await;
    let sock = product(&app, &staff, "Sock", "2.00", 10).await;
    app.post(
        "/api/coupons/",
        Some(&staff),
        json!({"code": "TEN", "kind": "percent", "value": "10"}),
    )
    .await;
    let address_id = new_address(&app, &token).await;
    add_to_cart(&app, &token, json!({"product_id": boot})).await;
    add_to_cart(&app, &token, json!({"product_id": sock, "quantity": 3})).await;
    let (status, _) = app
        .post("/api/cart/coupon/", Some(&token), json!({"code": "ten"}))
        .await;
    assert_eq!(status, 200);

    let (status, order) = place_order(
        &app,
        &token,
        json!({"shipping_address_id": address_id, "total_amount": "0.01", "status": "PAID"}),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(
        (&order["status"], &order["payment_status"]),
        (&json!("PENDING"), &json!("UNPAID"))
    );
    assert_eq!(
        (
            &order["subtotal"],
            &order["discount"],
            &order["total_amount"],
            &order["currency"]
        ),
        (
            &json!("57.44"),
            &json!("5.74"),
            &json!("51.70"),
            &json!("USD")
        )
    );
    assert_eq!(order["coupon"], "TEN");
    let (boot_variant, sock_variant) = (
        crate::fixtures::only_variant(&app, boot).await,
        crate::fixtures::only_variant(&app, sock).await,
    );
    assert_eq!(
        order["items"],
        json!([
            {"product_id": boot, "product_name": "Boot", "variant_id": boot_variant, "sku": format!("P{boot}"),
             "variant_options": {}, "price_snapshot": "51.44", "quantity": 1, "subtotal": "51.44",
             "tax_rate": "0.00", "tax_amount": "0.00"},
            {"product_id": sock, "product_name": "Sock", "variant_id": sock_variant, "sku": format!("P{sock}"),
             "variant_options": {}, "price_snapshot": "2.00", "quantity": 3, "subtotal": "6.00",
             "tax_rate": "0.00", "tax_amount": "0.00"},
        ])
    );
    assert_eq!(order["shipping_address"]["full_name"], "Ada Lovelace");
    assert_eq!(order["shipping_address"]["country"], "US");

    // What changed with it: stock (with movements), the coupon's use, the cart, the expiry job.
    assert_eq!((stock(&app, boot).await, stock(&app, sock).await), (9, 7));
    let movements = stock_movement::Entity::find()
        .filter(stock_movement::Column::Reference.eq(format!("order:{id}")))
        .all(&app.state.db)
        .await
        .expect("movements");
    assert_eq!(movements.len(), 2);
    assert!(movements.iter().all(|m| m.reason == "order" && m.delta < 0));
    let ten = coupon::Entity::find()
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("coupon");
    assert_eq!(ten.uses, 1);
    let emptied = cart(&app, &token).await;
    assert_eq!(
        (&emptied["items"], &emptied["coupon"]),
        (&json!([]), &Value::Null)
    );
    let expiry = jobs_of(&app, <lifecycle::ExpireOrder as Job>::KIND).await;
    assert_eq!(expiry.len(), 1);
    let due = expiry[0].run_at - emporium::time::now();
    assert!(
        due > chrono::Duration::minutes(29) && due <= chrono::Duration::minutes(30),
        "{due}"
    );

    // Later changes to the product and the address book change nothing in the order.
    app.patch(
        &format!("/api/products/{boot}/"),
        Some(&staff),
        json!({"price": "99.00", "name": "Renamed"}),
    )
    .await;
    app.patch(
        &format!("/api/auth/addresses/{address_id}/"),
        Some(&token),
        json!({"full_name": "Someone Else"}),
    )
    .await;
    let (status, again) = app
        .get_as(&format!("/api/orders/{id}/"), Some(&token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["items"], order["items"]);
    assert_eq!(again["shipping_address"], order["shipping_address"]);
    assert_eq!(again["total_amount"], "51.70");
}

#[tokio::test]
async fn bad_checkouts_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (token, other) = (app.customer_token().await, app.customer_token().await);
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let others_address = new_address(&app, &other).await;

    let (status, body) = place_order(&app, &token, json!({"shipping_address": address()})).await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("Your cart is empty."))
    );
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2})).await;

    let mut invalid = address();
    invalid["country"] = json!("XX");
    invalid.as_object_mut().expect("object").remove("line1");
    let cases = [
        (
            json!({"shipping_address_id": 999_999}),
            "shipping_address_id",
        ),
        (
            json!({"shipping_address_id": others_address}),
            "shipping_address_id",
        ),
        (json!({}), "shipping_address"),
        (json!({"shipping_address": "1 Main St"}), "shipping_address"),
        (
            json!({"shipping_address": address(), "coupon_code": "NOPE"}),
            "coupon_code",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = place_order(&app, &token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer[field].is_array(), "{body}: {answer}");
    }
    let (status, answer) = place_order(&app, &token, json!({"shipping_address": invalid})).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["shipping_address"]["line1"],
        json!(["This field is required."])
    );
    assert_eq!(
        answer["shipping_address"]["country"],
        json!(["\"XX\" is not a valid choice."])
    );

    assert!(orders_in_db(&app).await.is_empty());
    assert_eq!(stock(&app, boot).await, 10);
    assert_eq!(
        cart(&app, &token).await["total_items"],
        2,
        "the cart is kept"
    );
}

#[tokio::test]
async fn a_short_line_is_a_409_naming_every_short_line_and_nothing_changes() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let fine = product(&app, &staff, "Fine", "1.00", 10).await;
    let short = product(&app, &staff, "Short", "1.00", 5).await;
    let retired = product(&app, &staff, "Retired", "1.00", 5).await;
    app.post(
        "/api/coupons/",
        Some(&staff),
        json!({"code": "C", "kind": "fixed", "value": "1"}),
    )
    .await;
    for (id, quantity) in [(fine, 2), (short, 4), (retired, 1)] {
        add_to_cart(
            &app,
            &token,
            json!({"product_id": id, "quantity": quantity}),
        )
        .await;
    }
    app.post("/api/cart/coupon/", Some(&token), json!({"code": "C"}))
        .await;
    app.patch(
        &format!("/api/products/{short}/"),
        Some(&staff),
        json!({"stock": 3}),
    )
    .await;
    app.patch(
        &format!("/api/products/{retired}/"),
        Some(&staff),
        json!({"is_active": false}),
    )
    .await;

    let (status, body) = place_order(&app, &token, json!({"shipping_address": address()})).await;
    assert_eq!(status, 409, "{body}");
    let (short_variant, retired_variant) = (
        crate::fixtures::only_variant(&app, short).await,
        crate::fixtures::only_variant(&app, retired).await,
    );
    assert_eq!(
        body["items"],
        json!([
            {"product_id": short, "variant_id": short_variant, "requested": 4, "available": 3},
            {"product_id": retired, "variant_id": retired_variant, "requested": 1, "available": 0},
        ])
    );
    assert!(body["detail"].is_string());
    assert!(orders_in_db(&app).await.is_empty());
    assert_eq!((stock(&app, fine).await, stock(&app, short).await), (10, 3));
    let c = coupon::Entity::find()
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("coupon");
    assert_eq!(c.uses, 0, "no coupon use");
    let kept = cart(&app, &token).await;
    assert_eq!(
        (kept["items"].as_array().map(Vec::len), &kept["coupon"]),
        (Some(3), &json!("C"))
    );
}

/// `n` customers, each with one of `products[i % len]` in their cart.
async fn buyers(app: &TestApp, products: &[i64], n: usize) -> Vec<String> {
    let lines: Vec<Value> = products
        .iter()
        .map(|id| json!({"product_id": id}))
        .collect();
    crate::fixtures::buyers(app, &lines, n).await
}

/// Units of each product in orders that are not cancelled.
async fn units_in_live_orders(app: &TestApp, product_id: i64) -> i64 {
    let live: Vec<String> = orders_in_db(app)
        .await
        .into_iter()
        .filter(|o| o.status.as_str() != "CANCELLED")
        .map(|o| o.id)
        .collect();
    emporium::orders::order_item::Entity::find()
        .filter(emporium::orders::order_item::Column::ProductId.eq(product_id))
        .all(&app.state.db)
        .await
        .expect("items")
        .into_iter()
        .filter(|i| live.contains(&i.order_id))
        .map(|i| i.quantity)
        .sum()
}

async fn race(apps: &[&TestApp], tokens: &[String]) -> Vec<Answer> {
    burst(tokens.len(), |i| {
        let app = apps[i % apps.len()];
        app.request(Method::POST, "/api/orders/create/", Some(&tokens[i]))
            .json(&json!({"shipping_address": address()}))
    })
    .await
}

async fn three_products(app: &TestApp) -> ([i64; 3], [i64; 3]) {
    let staff = app.staff_token().await;
    let ids = [
        product(app, &staff, "A", "1.00", 3).await,
        product(app, &staff, "B", "1.00", 2).await,
        product(app, &staff, "C", "1.00", 2).await,
    ];
    (ids, [3, 2, 2])
}

async fn assert_no_overselling(
    app: &TestApp,
    answers: &[Answer],
    ids: [i64; 3],
    initial: [i64; 3],
) {
    assert_eq!(
        (count(answers, 201), count(answers, 409)),
        (7, answers.len() - 7),
        "{answers:?}"
    );
    assert!(answers.iter().all(|a| a.status < 500), "{answers:?}");
    for (id, initial) in ids.into_iter().zip(initial) {
        let now = stock(app, id).await;
        assert_eq!(now, 0);
        assert_eq!(initial, now + units_in_live_orders(app, id).await);
    }
    assert_eq!(orders_in_db(app).await.len(), 7);
}

#[tokio::test]
async fn twenty_four_buyers_racing_for_seven_units_make_exactly_seven_orders() {
    let app = spawn_app().await;
    let (ids, initial) = three_products(&app).await;
    let tokens = buyers(&app, &ids, 24).await;
    let answers = race(&[&app], &tokens).await;
    assert_no_overselling(&app, &answers, ids, initial).await;
}

#[tokio::test]
async fn two_instances_on_one_database_never_oversell_either() {
    let first = spawn_app().await;
    let second = spawn(Spawn {
        database: Some(TestDatabase::shared(first.db_url())),
        ..Spawn::default()
    })
    .await;
    let (ids, initial) = three_products(&first).await;
    let tokens = buyers(&first, &ids, 24).await;
    let answers = race(&[&first, &second], &tokens).await;
    assert_no_overselling(&first, &answers, ids, initial).await;
}

#[tokio::test]
async fn a_retried_order_is_created_once_and_a_reused_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 100).await;
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2})).await;
    let send = |key: &str, body: Value| {
        app.request(Method::POST, "/api/orders/create/", Some(&token))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send("k-1", json!({"shipping_address": address()}))
        .await
        .expect("sent");
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.expect("json");

    // The cart has something again: a retry still makes nothing new.
    add_to_cart(&app, &token, json!({"product_id": boot})).await;
    let retry = send("k-1", json!({"shipping_address": address()}))
        .await
        .expect("sent");
    assert_eq!(retry.status(), 201);
    assert_eq!(
        retry
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let retry: Value = retry.json().await.expect("json");
    assert_eq!(retry, first);
    assert_eq!(orders_in_db(&app).await.len(), 1);
    assert_eq!(stock(&app, boot).await, 98);

    let mut other = address();
    other["city"] = json!("Shelbyville");
    let reused = send("k-1", json!({"shipping_address": other}))
        .await
        .expect("sent");
    assert_eq!(reused.status(), 422);
    assert_eq!(orders_in_db(&app).await.len(), 1);
    assert_eq!(
        cart(&app, &token).await["total_items"],
        1,
        "the new cart is untouched"
    );

    // Parallel requests with one key: one order, every answer the same.
    let answers = burst(8, |_| {
        app.request(Method::POST, "/api/orders/create/", Some(&token))
            .header("Idempotency-Key", "k-2")
            .json(&json!({"shipping_address": address()}))
    })
    .await;
    assert_eq!(count(&answers, 201), 8, "{answers:?}");
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|a| a.body["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(orders_in_db(&app).await.len(), 2);
    assert_eq!(stock(&app, boot).await, 97);
}

#[tokio::test]
async fn cancelling_returns_the_stock_and_the_coupon_use_exactly_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let (_, body) = app
        .post(
            "/api/coupons/",
            Some(&staff),
            json!({"code": "ONCE", "kind": "fixed", "value": "1", "max_uses": 1}),
        )
        .await;
    let coupon_id = body["id"].as_i64().expect("id");
    let boot = product(&app, &staff, "Boot", "10.00", 5).await;
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2})).await;
    let (status, order) = place_order(
        &app,
        &token,
        json!({"shipping_address": address(), "coupon_code": "once"}),
    )
    .await;
    assert_eq!((status, &order["coupon"]), (201, &json!("ONCE")), "{order}");
    let id = order["id"].as_str().expect("id");

    let answers = burst(6, |_| {
        app.request(
            Method::POST,
            &format!("/api/orders/{id}/cancel/"),
            Some(&token),
        )
    })
    .await;
    assert_eq!(
        (count(&answers, 200), count(&answers, 409)),
        (1, 5),
        "{answers:?}"
    );
    assert_eq!(stock(&app, boot).await, 5);
    let c = coupon::Entity::find_by_id(coupon_id)
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("c");
    assert_eq!(c.uses, 0, "the use was given back");
    let movements = stock_movement::Entity::find()
        .filter(stock_movement::Column::ProductId.eq(boot))
        .all(&app.state.db)
        .await
        .expect("movements");
    let reasons: Vec<(&str, i64)> = movements
        .iter()
        .map(|m| (m.reason.as_str(), m.delta))
        .collect();
    assert_eq!(
        reasons,
        [("product created", 5), ("order", -2), ("cancellation", 2)]
    );
    let (_, again) = app
        .get_as(&format!("/api/orders/{id}/"), Some(&token))
        .await;
    assert_eq!(again["status"], "CANCELLED");
}

#[tokio::test]
async fn the_owners_cancel_and_the_expiry_racing_return_the_stock_once() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    for _ in 0..4 {
        let (id, boot) = order_of(
            &app,
            &staff,
            &token,
            Basket {
                stock: 6,
                ..Basket::boots(4)
            },
        )
        .await;
        let cancel = app
            .request(
                Method::POST,
                &format!("/api/orders/{id}/cancel/"),
                Some(&token),
            )
            .send();
        let expire = lifecycle::ExpireOrder {
            order_id: id.clone(),
        }
        .run(ctx(&app));
        let (cancelled, expired) = tokio::join!(cancel, expire);
        assert!(matches!(
            cancelled.expect("sent").status().as_u16(),
            200 | 409
        ));
        expired.expect("the job settles either way");
        assert_eq!(stock(&app, boot).await, 6, "returned once");
        let returned = stock_movement::Entity::find()
            .filter(stock_movement::Column::ProductId.eq(boot))
            .filter(stock_movement::Column::Delta.gt(0))
            .all(&app.state.db)
            .await
            .expect("movements")
            .len();
        assert_eq!(returned, 2, "the creation and one return");
    }
}

#[tokio::test]
async fn an_unpaid_order_expires_and_its_stock_comes_back() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_ORDER_PAYMENT_TIMEOUT", "1s".to_owned())],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let (id, boot) = order_of(
        &app,
        &staff,
        &token,
        Basket {
            stock: 5,
            ..Basket::boots(3)
        },
    )
    .await;
    assert_eq!(stock(&app, boot).await, 2);
    let expired = eventually(Duration::from_secs(15), || async {
        let (_, order) = app
            .get_as(&format!("/api/orders/{id}/"), Some(&token))
            .await;
        order["status"] == "CANCELLED"
    })
    .await;
    assert!(expired, "the expiry job cancelled it");
    assert_eq!(stock(&app, boot).await, 5);
    // A paid order is left alone by its expiry job.
    let (paid, paid_boot) = order_of(
        &app,
        &staff,
        &token,
        Basket {
            stock: 5,
            ..Basket::boots(1)
        },
    )
    .await;
    order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value("PAID"))
        .col_expr(order::Column::PaymentStatus, Expr::value("PAID"))
        .filter(order::Column::Id.eq(paid.as_str()))
        .exec(&app.state.db)
        .await
        .expect("pay");
    lifecycle::ExpireOrder {
        order_id: paid.clone(),
    }
    .run(ctx(&app))
    .await
    .expect("job");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stock(&app, paid_boot).await, 4);
}

#[tokio::test]
async fn the_lifecycle_allows_only_its_moves() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let (id, _) = order_of(&app, &staff, &token, Basket::boots(1)).await;
    let path = format!("/api/orders/{id}/status/");
    let patch = |token: String, body: Value| {
        let (app, path) = (&app, &path);
        async move { app.patch(path, Some(&token), body).await }
    };
    assert_eq!(
        patch(token.clone(), json!({"status": "SHIPPED"})).await.0,
        403
    );
    assert_eq!(
        patch(staff.clone(), json!({"status": "SHIPPED"})).await.0,
        409,
        "not paid yet"
    );
    let (status, body) = patch(staff.clone(), json!({"status": "LOST"})).await;
    assert_eq!(
        (status, &body["status"]),
        (400, &json!(["\"LOST\" is not a valid choice."]))
    );
    set_status(&app, &id, "PAID").await;
    let (status, _) = app
        .post_empty(&format!("/api/orders/{id}/cancel/"), Some(&token))
        .await;
    assert_eq!(status, 409, "an owner cannot cancel a paid order");
    assert_eq!(
        patch(staff.clone(), json!({"status": "DELIVERED"})).await.0,
        409
    );
    let (status, body) = patch(staff.clone(), json!({"status": "SHIPPED"})).await;
    assert_eq!((status, &body["status"]), (200, &json!("SHIPPED")));
    assert_eq!(patch(staff.clone(), json!({"status": "PAID"})).await.0, 409);
    let (status, body) = patch(staff.clone(), json!({"status": "DELIVERED"})).await;
    assert_eq!((status, &body["status"]), (200, &json!("DELIVERED")));
    let (status, _) = app
        .post_empty(&format!("/api/orders/{id}/cancel/"), Some(&staff))
        .await;
    assert_eq!(status, 409, "a delivered order stays delivered");

    // Staff may cancel a paid order; its stock comes back.
    let (paid, boot) = order_of(&app, &staff, &token, Basket::boots(4)).await;
    set_status(&app, &paid, "PAID").await;
    let (status, body) = app
        .post_empty(&format!("/api/orders/{paid}/cancel/"), Some(&staff))
        .await;
    assert_eq!((status, &body["status"]), (200, &json!("CANCELLED")));
    assert_eq!(stock(&app, boot).await, 10);
}

#[tokio::test]
async fn another_users_orders_do_not_exist_for_them_and_staff_filter_all() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (alice, bob) = (app.customer_token().await, app.customer_token().await);
    let (a1, _) = order_of(&app, &staff, &alice, Basket::boots(1)).await;
    let (a2, _) = order_of(&app, &staff, &alice, Basket::boots(1)).await;
    let (b1, _) = order_of(&app, &staff, &bob, Basket::boots(1)).await;
    set_status(&app, &a1, "PAID").await;

    for (method, path) in [
        (Method::GET, format!("/api/orders/{a1}/")),
        (Method::POST, format!("/api/orders/{a2}/cancel/")),
        (Method::GET, "/api/orders/not-a-uuid/".to_owned()),
        (
            Method::GET,
            format!("/api/orders/{}/", uuid::Uuid::new_v4()),
        ),
    ] {
        let (status, body) = app.call(method.clone(), &path, Some(&bob), None).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    assert_eq!(
        app.patch(
            &format!("/api/orders/{a1}/status/"),
            Some(&bob),
            json!({"status": "SHIPPED"})
        )
        .await
        .0,
        403
    );
    let (_, still) = app
        .get_as(&format!("/api/orders/{a2}/"), Some(&alice))
        .await;
    assert_eq!(still["status"], "PENDING", "bob's cancel did nothing");

    let ids = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|o| o["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let (_, mine) = app.get_as("/api/orders/", Some(&alice)).await;
    assert_eq!(
        ids(&mine),
        [a2.clone(), a1.clone()],
        "own orders, newest first"
    );
    let (_, spoof) = app.get_as("/api/orders/?user=1", Some(&bob)).await;
    assert_eq!(ids(&spoof), [b1], "a customer's ?user= is ignored");
    let (_, all) = app.get_as("/api/orders/", Some(&staff)).await;
    assert_eq!(all["count"], 3);
    let (_, paid) = app.get_as("/api/orders/?status=PAID", Some(&staff)).await;
    assert_eq!(ids(&paid), [a1.as_str()]);
    let alice_id = app.get_as("/api/auth/me/", Some(&alice)).await.1["id"]
        .as_i64()
        .expect("id");
    let (_, by_user) = app
        .get_as(&format!("/api/orders/?user={alice_id}"), Some(&staff))
        .await;
    assert_eq!(ids(&by_user), [a2, a1]);
    let (status, _) = app.get_as("/api/orders/?status=LOST", Some(&staff)).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn staff_get_one_stock_alert_when_a_product_goes_low_not_one_per_order() {
    let app = spawn(Spawn {
        no_worker: true,
        settings: vec![("EMPORIUM_LOW_STOCK_THRESHOLD", "5".to_owned())],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 8).await;
    for (quantity, alerts_after) in [(2, 0), (2, 1), (1, 1), (3, 1)] {
        add_to_cart(
            &app,
            &token,
            json!({"product_id": boot, "quantity": quantity}),
        )
        .await;
        let (status, body) =
            place_order(&app, &token, json!({"shipping_address": address()})).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            jobs_of(&app, <alerts::StockAlert as Job>::KIND).await.len(),
            alerts_after,
            "after {quantity}"
        );
    }
    let alert = &jobs_of(&app, <alerts::StockAlert as Job>::KIND).await[0];
    let payload: Value = serde_json::from_str(&alert.payload).expect("payload");
    run_job::<alerts::StockAlert>(ctx(&app), payload)
        .await
        .expect("job");
    let emails = jobs_of(&app, <emporium::email::job::SendEmail as Job>::KIND).await;
    assert_eq!(emails.len(), 1, "one staff member");
    let email: Value = serde_json::from_str(&emails[0].payload).expect("email");
    assert!(email["to"].as_str().expect("to").starts_with("staff-"));
    assert!(
        email["text"].as_str().expect("text").contains("Boot"),
        "{email}"
    );
}

#[tokio::test]
async fn a_checkout_with_shipping_tax_events_and_tallies_is_at_most_twenty_statements_whatever_the_cart_holds()
 {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let address_id = new_address(&app, &token).await;
    app.post(
        "/api/coupons/",
        Some(&staff),
        json!({"code": "ALL", "kind": "percent", "value": "5"}),
    )
    .await;
    // The checkout as it is with shipping and tax: a method of a zone, a rate.
    let zone = crate::shipping_tax::zone_of(&app, "US", &[("US", "")]).await;
    let method = crate::shipping_tax::method_of(&app, zone, "Standard", 500, None, None).await;
    crate::shipping_tax::rate_of(&app, ("US", ""), "standard", 200_000, "Sales tax").await;
    let mut counts = Vec::new();
    for lines in [1, 12] {
        for i in 0..lines {
            let id = product(&app, &staff, &format!("P{lines}-{i}"), "3.00", 50).await;
            add_to_cart(&app, &token, json!({"product_id": id, "quantity": 2})).await;
        }
        if lines > 1 {
            // And six variants of one product: no more statements either.
            let tee = crate::variants::tee(&app, &staff, 50).await;
            for variant in tee["variants"].as_array().expect("variants") {
                let (status, body) =
                    add_to_cart(&app, &token, json!({"variant_id": variant["id"]})).await;
                assert_eq!(status, 200, "{body}");
            }
        }
        app.post("/api/cart/coupon/", Some(&token), json!({"code": "ALL"}))
            .await;
        // The cart's shipping choice, as the app makes it before the checkout: it reads the
        // rates, the zone and the method, which the checkout then finds in the cache.
        let (status, body) = app
            .call(
                Method::PUT,
                "/api/cart/shipping/",
                Some(&token),
                Some(json!({"address_id": address_id, "method_id": method})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let before = app.state.queries.load(Ordering::SeqCst);
        let response = app
            .request(Method::POST, "/api/orders/create/", Some(&token))
            .header("Idempotency-Key", format!("budget-{lines}"))
            .json(&json!({"shipping_address_id": address_id, "shipping_method_id": method}))
            .send()
            .await
            .expect("sent");
        let statements = app.state.queries.load(Ordering::SeqCst) - before;
        assert_eq!(response.status(), 201);
        let order: Value = response.json().await.expect("order");
        assert_ne!(order["tax_amount"], "0.00", "{order}");
        counts.push(statements);
    }
    eprintln!("checkout statements: {counts:?}");
    assert!(counts.iter().all(|n| *n <= 20), "{counts:?}");
    assert_eq!(
        counts[0], counts[1],
        "the same whatever the number of lines: {counts:?}"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL or MariaDB: set EMPORIUM_TEST_DATABASE and pass --include-ignored"]
async fn checkouts_of_different_products_never_wait_on_each_other() {
    crate::helpers::service("EMPORIUM_TEST_DATABASE");
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (alice, bob) = (app.customer_token().await, app.customer_token().await);
    let boot = product(&app, &staff, "Boot", "10.00", 5).await;
    let sock = product(&app, &staff, "Sock", "1.00", 5).await;
    add_to_cart(&app, &alice, json!({"product_id": boot})).await;
    add_to_cart(&app, &bob, json!({"product_id": sock})).await;
    // An open checkout holds the boot's row…
    let open = sea_orm::TransactionTrait::begin(&app.state.db)
        .await
        .expect("begin");
    let cause = emporium::catalog::inventory::Cause {
        reason: "order".to_owned(),
        reference: "order:open".to_owned(),
        idempotency_key: None,
    };
    let boot_line = [emporium::catalog::inventory::StockLine {
        product_id: boot,
        variant_id: crate::fixtures::only_variant(&app, boot).await,
        delta: -1,
    }];
    emporium::catalog::inventory::apply(&open, &boot_line, &cause)
        .await
        .expect("holds the boot");
    // …while a checkout of socks goes through.
    let socks = tokio::time::timeout(
        Duration::from_secs(5),
        place_order(&app, &bob, json!({"shipping_address": address()})),
    )
    .await;
    assert_eq!(socks.expect("did not wait").0, 201);
    // A checkout of the boot does wait (so the check above can fail).
    let boots = tokio::time::timeout(
        Duration::from_millis(700),
        place_order(&app, &alice, json!({"shipping_address": address()})),
    )
    .await;
    assert!(boots.is_err(), "a checkout of the held product should wait");
    open.rollback().await.expect("release");
    assert_eq!(
        place_order(&app, &alice, json!({"shipping_address": address()}))
            .await
            .0,
        201
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL or MariaDB: set EMPORIUM_TEST_DATABASE and pass --include-ignored"]
async fn a_checkout_that_waited_on_an_edit_of_its_product_or_coupon_sees_the_edit() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    crate::helpers::service("EMPORIUM_TEST_DATABASE");
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (alice, bob) = (app.customer_token().await, app.customer_token().await);
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let hat = product(&app, &staff, "Hat", "10.00", 10).await;
    let (_, body) = app
        .post(
            "/api/coupons/",
            Some(&staff),
            json!({"code": "BIG", "kind": "percent", "value": "90"}),
        )
        .await;
    let coupon_id = body["id"].as_i64().expect("id");
    add_to_cart(&app, &alice, json!({"product_id": boot})).await;
    add_to_cart(&app, &bob, json!({"product_id": hat})).await;
    app.post("/api/cart/coupon/", Some(&bob), json!({"code": "BIG"}))
        .await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let sql = |text: String| sea_orm::Statement::from_string(backend, text);

    // An edit holds the boot's row while alice checks out: she sees it retired.
    let edit = db.begin().await.expect("begin");
    edit.execute_raw(sql(format!(
        "UPDATE products SET is_active = false, price = 9900 WHERE id = {boot}"
    )))
    .await
    .expect("retire");
    let checkout = place_order(&app, &alice, json!({"shipping_address": address()}));
    let commit = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        edit.commit().await.expect("commit");
    };
    let ((status, body), ()) = tokio::join!(checkout, commit);
    assert_eq!(status, 409, "{body}");
    let boot_variant = crate::fixtures::only_variant(&app, boot).await;
    assert_eq!(
        body["items"],
        json!([{"product_id": boot, "variant_id": boot_variant, "requested": 1, "available": 0}])
    );
    assert_eq!(stock(&app, boot).await, 10);

    // An edit holds the coupon's row while bob checks out: he gets the new value.
    let edit = db.begin().await.expect("begin");
    edit.execute_raw(sql(format!(
        "UPDATE coupons SET value = 1000 WHERE id = {coupon_id}"
    )))
    .await
    .expect("cut the discount");
    let checkout = place_order(&app, &bob, json!({"shipping_address": address()}));
    let commit = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        edit.commit().await.expect("commit");
    };
    let ((status, order), ()) = tokio::join!(checkout, commit);
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (&order["discount"], &order["total_amount"]),
        (&json!("1.00"), &json!("9.00"))
    );
}

#[tokio::test]
async fn idempotency_keys_are_exact_and_well_formed_and_order_ids_have_one_form() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    let send = |keys: Vec<&'static str>| {
        let mut request = app
            .request(Method::POST, "/api/orders/create/", Some(&token))
            .json(&json!({"shipping_address": address()}));
        for key in keys {
            request = request.header("Idempotency-Key", key);
        }
        request.send()
    };
    for keys in [vec!["has space"], vec!["one", "two"]] {
        let response = send(keys.clone()).await.expect("sent");
        assert_eq!(response.status(), 400, "{keys:?}");
    }
    add_to_cart(&app, &token, json!({"product_id": boot})).await;
    let first: Value = send(vec!["Key-A"])
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    add_to_cart(&app, &token, json!({"product_id": boot})).await;
    let second = send(vec!["key-a"]).await.expect("sent");
    assert_eq!(second.status(), 201);
    assert!(
        second.headers().get("idempotent-replayed").is_none(),
        "another key"
    );
    let second: Value = second.json().await.expect("json");
    assert_ne!(first["id"], second["id"]);
    assert_eq!(orders_in_db(&app).await.len(), 2);

    let id = first["id"].as_str().expect("id");
    let simple = id.replace('-', "");
    for path in [
        format!("/api/orders/{}/", id.to_uppercase()),
        format!("/api/orders/{simple}/"),
        format!("/api/orders/urn:uuid:{id}/"),
    ] {
        let expected = if path.contains(&id.to_uppercase()) {
            200
        } else {
            404
        };
        assert_eq!(app.get_as(&path, Some(&token)).await.0, expected, "{path}");
    }
}
