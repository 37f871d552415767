//! The cart over HTTP: one per user, priced from the catalog, quantities checked against stock
//! and limits, lines that can no longer be bought shown as such, parallel adds that make one
//! line, and the clean-up of idle carts.

use emporium::auth::user;
use emporium::cart::{cart_item, shopping_cart};
use emporium::jobs::Job;
use emporium::jobs::JobContext;
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{add_to_cart, cart, product};
use crate::helpers::{Spawn, TestApp, burst, count, spawn, spawn_app};

/// `(product id, quantity)` of every line.
fn lines(cart: &Value) -> Vec<(i64, i64)> {
    cart["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|line| {
            (
                line["product"]["id"].as_i64().expect("id"),
                line["quantity"].as_i64().expect("quantity"),
            )
        })
        .collect()
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    let (_, me) = app.get_as("/api/auth/me/", Some(token)).await;
    me["id"].as_i64().expect("id")
}

#[tokio::test]
async fn each_user_has_one_cart_priced_from_the_catalog_whatever_the_client_says() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (alice, bob) = (app.customer_token().await, app.customer_token().await);
    let boot = product(&app, &staff, "Boot", "19.99", 10).await;

    let (status, _) = app.get("/api/cart/").await;
    assert_eq!(status, 401);
    let empty = cart(&app, &alice).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(
        (&empty["subtotal"], &empty["total"], &empty["currency"]),
        (&json!("0.00"), &json!("0.00"), &json!("USD"))
    );
    assert!(empty["updated_at"].is_string());

    let (status, body) = add_to_cart(
        &app,
        &alice,
        json!({"product_id": boot, "quantity": 2, "price": "0.01", "unit_price": "0.01",
               "total": "0.01", "subtotal": "0.01"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let line = &body["items"][0];
    assert_eq!(line["unit_price"], "19.99");
    assert_eq!(line["subtotal"], "39.98");
    assert_eq!(
        (line["available"].as_bool(), &line["message"]),
        (Some(true), &Value::Null)
    );
    assert_eq!(line["product"]["name"], "Boot");
    assert_eq!(line["product"]["price"], "19.99");
    assert_eq!(line["product"]["image"], Value::Null);
    assert_eq!(
        (
            &body["total_items"],
            &body["subtotal"],
            &body["discount"],
            &body["total"]
        ),
        (&json!(2), &json!("39.98"), &json!("0.00"), &json!("39.98"))
    );
    assert_eq!(
        cart(&app, &bob).await["items"],
        json!([]),
        "carts are per user"
    );

    // A price change shows in the cart at once: nothing is stored but the quantity.
    let (status, _) = app
        .patch(
            &format!("/api/products/{boot}/"),
            Some(&staff),
            json!({"price": "25.00"}),
        )
        .await;
    assert_eq!(status, 200);
    let after = cart(&app, &alice).await;
    assert_eq!(
        (&after["items"][0]["unit_price"], &after["total"]),
        (&json!("25.00"), &json!("50.00"))
    );

    let response = app
        .request(Method::GET, "/api/cart/", Some(&alice))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..]),
        "a user's own data is not cached"
    );
}

#[tokio::test]
async fn add_accumulates_update_sets_and_zero_or_remove_takes_the_line_out() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 20).await;
    let hat = product(&app, &staff, "Hat", "5.00", 20).await;

    assert_eq!(
        add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2}))
            .await
            .0,
        200
    );
    let (_, body) = add_to_cart(&app, &token, json!({"product_id": boot})).await;
    assert_eq!(
        lines(&body),
        [(boot, 3)],
        "the default quantity is 1, added on top"
    );
    add_to_cart(&app, &token, json!({"product_id": hat, "quantity": "4"})).await;

    let update = |body: Value| app.patch("/api/cart/update/", Some(&token), body);
    let (status, body) = update(json!({"product_id": boot, "quantity": 7})).await;
    assert_eq!((status, lines(&body)), (200, vec![(boot, 7), (hat, 4)]));
    let (status, body) = update(json!({"product_id": boot, "quantity": 0})).await;
    assert_eq!((status, lines(&body)), (200, vec![(hat, 4)]));
    let (status, body) = update(json!({"product_id": boot, "quantity": 1})).await;
    assert_eq!(
        (status, &body["detail"]),
        (404, &json!("Product not in cart."))
    );
    let (status, body) = update(json!({"product_id": hat})).await;
    assert_eq!(
        (status, &body["quantity"]),
        (400, &json!(["This field is required."]))
    );
    let (status, body) = update(json!({"product_id": hat, "quantity": -1})).await;
    assert_eq!(status, 400, "{body}");

    // Remove by body, then by query; a product not in the cart is a 404.
    add_to_cart(&app, &token, json!({"product_id": boot})).await;
    let (status, body) = app
        .call(
            Method::DELETE,
            "/api/cart/remove/",
            Some(&token),
            Some(json!({"product_id": hat})),
        )
        .await;
    assert_eq!((status, lines(&body)), (200, vec![(boot, 1)]));
    let (status, body) = app
        .delete(
            &format!("/api/cart/remove/?product_id={boot}"),
            Some(&token),
        )
        .await;
    assert_eq!((status, lines(&body)), (200, vec![]));
    let (status, _) = app
        .delete(
            &format!("/api/cart/remove/?product_id={boot}"),
            Some(&token),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app.delete("/api/cart/remove/", Some(&token)).await;
    assert_eq!(
        (status, &body["product_id"]),
        (400, &json!(["This field is required."]))
    );
}

#[tokio::test]
async fn quantities_are_checked_against_stock_and_limits_and_bad_adds_change_nothing() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_CART_MAX_QUANTITY", "50".to_owned())],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 3).await;
    let plenty = product(&app, &staff, "Sock", "1.00", 1000).await;
    let gone = product(&app, &staff, "Old boot", "10.00", 5).await;
    app.patch(
        &format!("/api/products/{gone}/"),
        Some(&staff),
        json!({"is_active": false}),
    )
    .await;

    let cases = [
        (
            json!({"product_id": boot, "quantity": 4}),
            "quantity",
            "Only 3 left in stock.",
        ),
        (
            json!({"product_id": boot, "quantity": 0}),
            "quantity",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            json!({"product_id": boot, "quantity": "many"}),
            "quantity",
            "A valid integer is required.",
        ),
        (
            json!({"product_id": boot, "quantity": 2.5}),
            "quantity",
            "A valid integer is required.",
        ),
        (
            json!({"product_id": plenty, "quantity": 51}),
            "quantity",
            "Ensure this value is less than or equal to 50.",
        ),
        (
            json!({"product_id": plenty, "quantity": i64::MAX}),
            "quantity",
            "Ensure this value is less than or equal to 50.",
        ),
        (
            json!({"product_id": 999_999, "quantity": 1}),
            "product_id",
            "Unknown or unavailable product.",
        ),
        (
            json!({"product_id": gone, "quantity": 1}),
            "product_id",
            "Unknown or unavailable product.",
        ),
        (
            json!({"quantity": 1}),
            "product_id",
            "This field is required.",
        ),
    ];
    for (body, field, message) in cases {
        let (status, answer) = add_to_cart(&app, &token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer[field], json!([message]), "{body}: {answer}");
    }
    assert_eq!(
        cart(&app, &token).await["items"],
        json!([]),
        "nothing was added"
    );

    // What is already in the cart counts: 2 + 2 > 3.
    assert_eq!(
        add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2}))
            .await
            .0,
        200
    );
    let (status, body) =
        add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2})).await;
    assert_eq!(
        (status, &body["quantity"]),
        (400, &json!(["Only 3 left in stock."]))
    );
    let (status, body) = app
        .patch(
            "/api/cart/update/",
            Some(&token),
            json!({"product_id": boot, "quantity": 4}),
        )
        .await;
    assert_eq!(
        (status, &body["quantity"]),
        (400, &json!(["Only 3 left in stock."]))
    );
    assert_eq!(lines(&cart(&app, &token).await), [(boot, 2)]);
}

#[tokio::test]
async fn a_cart_holds_at_most_the_configured_number_of_different_products() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_CART_MAX_LINES", "2".to_owned())],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let ids = [
        product(&app, &staff, "A", "1.00", 5).await,
        product(&app, &staff, "B", "1.00", 5).await,
        product(&app, &staff, "C", "1.00", 5).await,
    ];
    for id in &ids[..2] {
        assert_eq!(
            add_to_cart(&app, &token, json!({"product_id": id})).await.0,
            200
        );
    }
    let (status, body) = add_to_cart(&app, &token, json!({"product_id": ids[2]})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["product_id"],
        json!(["A cart holds at most 2 different products."])
    );
    // More of a product already there is still fine.
    assert_eq!(
        add_to_cart(&app, &token, json!({"product_id": ids[0]}))
            .await
            .0,
        200
    );
    assert_eq!(lines(&cart(&app, &token).await), [(ids[0], 2), (ids[1], 1)]);
}

#[tokio::test]
async fn lines_that_can_no_longer_be_bought_are_shown_as_such_and_left_out_of_the_totals() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let fine = product(&app, &staff, "Fine", "2.50", 10).await;
    let retired = product(&app, &staff, "Retired", "7.00", 10).await;
    let short = product(&app, &staff, "Short", "3.00", 10).await;
    let sold_out = product(&app, &staff, "Sold out", "4.00", 10).await;
    for (id, quantity) in [(fine, 2), (retired, 1), (short, 5), (sold_out, 1)] {
        assert_eq!(
            add_to_cart(
                &app,
                &token,
                json!({"product_id": id, "quantity": quantity})
            )
            .await
            .0,
            200
        );
    }
    let patch = |id: i64, body: Value| {
        let staff = staff.clone();
        let app = &app;
        async move {
            let (status, _) = app
                .patch(&format!("/api/products/{id}/"), Some(&staff), body)
                .await;
            assert_eq!(status, 200);
        }
    };
    patch(retired, json!({"is_active": false})).await;
    patch(short, json!({"stock": 3})).await;
    patch(sold_out, json!({"stock": 0})).await;

    let body = cart(&app, &token).await;
    let shown: Vec<(i64, bool, Value)> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            (
                l["product"]["id"].as_i64().expect("id"),
                l["available"].as_bool().expect("available"),
                l["message"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (fine, true, Value::Null),
            (
                retired,
                false,
                json!("This product is no longer available.")
            ),
            (short, false, json!("Only 3 left in stock.")),
            (sold_out, false, json!("This product is out of stock.")),
        ]
    );
    assert_eq!(
        (&body["total_items"], &body["subtotal"], &body["total"]),
        (&json!(2), &json!("5.00"), &json!("5.00")),
        "only what can be bought counts"
    );
    // The short line can be brought back within the stock.
    let (status, body) = app
        .patch(
            "/api/cart/update/",
            Some(&token),
            json!({"product_id": short, "quantity": 3}),
        )
        .await;
    assert_eq!(
        (status, &body["subtotal"]),
        (200, &json!("14.00")),
        "{body}"
    );
}

#[tokio::test]
async fn parallel_adds_of_one_product_make_one_line_with_every_quantity() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "1.00", 100).await;
    let uid = user_id(&app, &token).await;

    // The first adds of a user without a cart: the cart is created once, the line once.
    let answers = burst(12, |_| {
        app.request(Method::POST, "/api/cart/add/", Some(&token))
            .json(&json!({"product_id": boot, "quantity": 2}))
    })
    .await;
    assert_eq!(count(&answers, 200), 12, "{answers:?}");
    assert_eq!(lines(&cart(&app, &token).await), [(boot, 24)]);
    let carts = shopping_cart::Entity::find()
        .filter(shopping_cart::Column::UserId.eq(uid))
        .all(&app.state.db)
        .await
        .expect("carts");
    assert_eq!(carts.len(), 1);
    let rows = cart_item::Entity::find()
        .filter(cart_item::Column::CartId.eq(carts[0].id))
        .all(&app.state.db)
        .await
        .expect("lines");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].quantity, 24);

    // Near the stock, parallel adds never take the line past it.
    let answers = burst(10, |_| {
        app.request(Method::POST, "/api/cart/add/", Some(&token))
            .json(&json!({"product_id": boot, "quantity": 10}))
    })
    .await;
    assert_eq!(
        (count(&answers, 200), count(&answers, 400)),
        (7, 3),
        "{answers:?}"
    );
    assert_eq!(lines(&cart(&app, &token).await), [(boot, 94)]);
}

#[tokio::test]
async fn idle_carts_and_carts_of_deactivated_accounts_are_cleaned_up() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let boot = product(&app, &staff, "Boot", "1.00", 100).await;
    let mut users = Vec::new();
    for _ in 0..3 {
        let token = app.customer_token().await;
        add_to_cart(&app, &token, json!({"product_id": boot})).await;
        users.push(user_id(&app, &token).await);
    }
    let (idle, fresh, deactivated) = (users[0], users[1], users[2]);
    let long_ago = emporium::time::now() - chrono::Duration::days(31);
    shopping_cart::Entity::update_many()
        .col_expr(shopping_cart::Column::UpdatedAt, Expr::value(long_ago))
        .filter(shopping_cart::Column::UserId.eq(idle))
        .exec(&app.state.db)
        .await
        .expect("age");
    user::Entity::update_many()
        .col_expr(user::Column::IsActive, Expr::value(false))
        .filter(user::Column::Id.eq(deactivated))
        .exec(&app.state.db)
        .await
        .expect("deactivate");

    let ctx = JobContext {
        state: app.state.clone(),
        job_id: 0,
        attempt: 1,
    };
    emporium::cart::purge::PurgeCarts {}
        .run(ctx)
        .await
        .expect("purge");
    let left: Vec<i64> = shopping_cart::Entity::find()
        .all(&app.state.db)
        .await
        .expect("carts")
        .into_iter()
        .map(|c| c.user_id)
        .collect();
    assert_eq!(left, [fresh]);
    let items = cart_item::Entity::find()
        .all(&app.state.db)
        .await
        .expect("lines");
    assert_eq!(items.len(), 1, "the removed carts' lines went with them");
    assert!(
        emporium::startup::job_registry()
            .periodic()
            .iter()
            .any(|p| p.kind == <emporium::cart::purge::PurgeCarts as Job>::KIND),
        "the clean-up is scheduled"
    );
}

#[tokio::test]
async fn a_product_or_coupon_deleted_while_users_use_it_is_a_400_never_a_500() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(app.customer_token().await);
    }
    let filler = product(&app, &staff, "Filler", "1.00", 100).await;
    for token in &tokens {
        add_to_cart(&app, token, json!({"product_id": filler})).await;
    }
    for round in 0..4 {
        let doomed = product(&app, &staff, &format!("Doomed {round}"), "1.00", 100).await;
        let (_, coupon) = app
            .post(
                "/api/coupons/",
                Some(&staff),
                json!({"code": format!("GONE{round}"), "kind": "fixed", "value": "1"}),
            )
            .await;
        let coupon_id = coupon["id"].as_i64().expect("id");
        let answers = burst(tokens.len() * 2 + 2, |i| match i {
            0 => app.request(
                Method::DELETE,
                &format!("/api/products/{doomed}/"),
                Some(&staff),
            ),
            1 => app.request(
                Method::DELETE,
                &format!("/api/coupons/{coupon_id}/"),
                Some(&staff),
            ),
            i if i % 2 == 0 => app
                .request(Method::POST, "/api/cart/add/", Some(&tokens[i / 2 - 1]))
                .json(&json!({"product_id": doomed})),
            i => app
                .request(Method::POST, "/api/cart/coupon/", Some(&tokens[i / 2 - 1]))
                .json(&json!({"code": format!("gone{round}")})),
        })
        .await;
        assert!(
            answers.iter().all(|a| matches!(a.status, 200 | 204 | 400)),
            "{answers:?}"
        );
    }
    for token in &tokens {
        let body = cart(&app, token).await;
        assert_eq!(
            lines(&body),
            [(filler, 1)],
            "the deleted products left no line"
        );
        assert_eq!(body["coupon"], Value::Null);
    }
}

#[tokio::test]
async fn remove_refuses_two_different_product_ids_and_quantities_may_be_whole_floats() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "1.00", 10).await;
    let (status, body) =
        add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2.0})).await;
    assert_eq!((status, lines(&body)), (200, vec![(boot, 2)]));
    let (status, body) = app
        .call(
            Method::DELETE,
            &format!("/api/cart/remove/?product_id={}", boot + 1),
            Some(&token),
            Some(json!({"product_id": boot})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["product_id"].is_array());
    assert_eq!(lines(&cart(&app, &token).await), [(boot, 2)]);
}
