//! Coupons over HTTP and at the redemption the orders use: staff management, codes unique
//! whatever the case, the discount and its rounding, each refusal named, the cart's check on
//! every read, guessing throttled, and the limits held under parallel redemptions.

use std::sync::Arc;

use emporium::auth::user;
use emporium::coupons::{coupon, coupon_use, service as coupons};
use emporium::money::Money;
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde_json::{Value, json};

use crate::fixtures::{add_to_cart, cart, product};
use crate::helpers::{Spawn, TestApp, spawn, spawn_app};

async fn new_coupon(app: &TestApp, staff: &str, body: Value) -> Value {
    let (status, answer) = app.post("/api/coupons/", Some(staff), body).await;
    assert_eq!(status, 201, "{answer}");
    answer
}

async fn apply(app: &TestApp, token: &str, code: &str) -> (u16, Value) {
    app.post("/api/cart/coupon/", Some(token), json!({"code": code}))
        .await
}

#[tokio::test]
async fn staff_manage_coupons_whose_codes_are_unique_whatever_the_case() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let body = json!({"code": "Save10", "kind": "percent", "value": "10", "min_order_amount": "20",
        "valid_until": "2099-01-01T00:00:00Z", "max_uses": 100, "max_uses_per_user": 1,
        "uses": 99, "id": 5});
    let (status, _) = app
        .post("/api/coupons/", Some(&customer), body.clone())
        .await;
    assert_eq!(status, 403);
    let (status, _) = app.get("/api/coupons/").await;
    assert_eq!(status, 401);

    let created = new_coupon(&app, &staff, body).await;
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["code"], "Save10");
    assert_eq!(created["kind"], "percent");
    assert_eq!(created["value"], "10.00");
    assert_eq!(created["min_order_amount"], "20.00");
    assert_eq!(created["valid_from"], Value::Null);
    assert_eq!(created["valid_until"], "2099-01-01T00:00:00.000000Z");
    assert_eq!(
        (
            created["max_uses"].as_i64(),
            created["max_uses_per_user"].as_i64()
        ),
        (Some(100), Some(1))
    );
    assert_eq!(created["uses"], 0, "a client cannot set the count");
    assert_eq!(created["is_active"], true);

    for code in ["SAVE10", "save10", " save10 "] {
        let (status, answer) = app
            .post(
                "/api/coupons/",
                Some(&staff),
                json!({"code": code, "kind": "fixed", "value": "1.00"}),
            )
            .await;
        assert_eq!(status, 400, "{code}: {answer}");
        assert_eq!(
            answer["code"],
            json!(["A coupon with this code already exists."])
        );
    }

    let (status, changed) = app
        .patch(
            &format!("/api/coupons/{id}/"),
            Some(&staff),
            json!({"kind": "fixed", "value": "5.50", "max_uses": null, "is_active": false}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["kind"], &changed["value"]),
        (&json!("fixed"), &json!("5.50"))
    );
    assert_eq!(
        (&changed["max_uses"], &changed["is_active"]),
        (&Value::Null, &json!(false))
    );
    assert_eq!(
        changed["min_order_amount"], "20.00",
        "fields not given are kept"
    );

    let (status, page) = app.get_as("/api/coupons/", Some(&staff)).await;
    assert_eq!((status, &page["count"]), (200, &json!(1)));
    let (status, one) = app
        .get_as(&format!("/api/coupons/{id}/"), Some(&staff))
        .await;
    assert_eq!((status, &one["code"]), (200, &json!("Save10")));
    let (status, _) = app
        .delete(&format!("/api/coupons/{id}/"), Some(&staff))
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .get_as(&format!("/api/coupons/{id}/"), Some(&staff))
        .await;
    assert_eq!(status, 404);
    // The code is free again.
    new_coupon(
        &app,
        &staff,
        json!({"code": "SAVE10", "kind": "fixed", "value": "1"}),
    )
    .await;
}

#[tokio::test]
async fn bad_coupons_are_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let cases = [
        (
            json!({"kind": "percent", "value": "10"}),
            "code",
            "This field is required.",
        ),
        (
            json!({"code": "has space", "kind": "percent", "value": "10"}),
            "code",
            "Enter a valid code: letters, digits, hyphens and underscores.",
        ),
        (
            json!({"code": "X", "kind": "bogo", "value": "10"}),
            "kind",
            "\"bogo\" is not a valid choice.",
        ),
        (
            json!({"code": "X", "kind": "percent"}),
            "value",
            "This field is required.",
        ),
        (
            json!({"code": "X", "kind": "percent", "value": "0"}),
            "value",
            "A percentage must be more than 0 and at most 100.",
        ),
        (
            json!({"code": "X", "kind": "percent", "value": "100.5"}),
            "value",
            "A percentage must be more than 0 and at most 100.",
        ),
        (
            json!({"code": "X", "kind": "percent", "value": 12.5}),
            "value",
            "A valid number is required.",
        ),
        (
            json!({"code": "X", "kind": "fixed", "value": "0.00"}),
            "value",
            "Ensure this value is greater than 0.",
        ),
        (
            json!({"code": "X", "kind": "fixed", "value": "1.005"}),
            "value",
            "Ensure that there are no more than 2 decimal places.",
        ),
        (
            json!({"code": "X", "kind": "fixed", "value": "1", "min_order_amount": "-1"}),
            "min_order_amount",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            json!({"code": "X", "kind": "fixed", "value": "1", "max_uses": 0}),
            "max_uses",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            json!({"code": "X", "kind": "fixed", "value": "1", "max_uses_per_user": -3}),
            "max_uses_per_user",
            "Ensure this value is greater than or equal to 1.",
        ),
        (
            json!({"code": "X", "kind": "fixed", "value": "1", "valid_from": "tomorrow"}),
            "valid_from",
            "",
        ),
        (
            json!({"code": "X", "kind": "fixed", "value": "1", "valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"}),
            "valid_until",
            "Must be later than valid_from.",
        ),
    ];
    for (body, field, message) in cases {
        let (status, answer) = app.post("/api/coupons/", Some(&staff), body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        if message.is_empty() {
            assert!(answer[field].is_array(), "{body}: {answer}");
        } else {
            assert_eq!(answer[field], json!([message]), "{body}: {answer}");
        }
    }
    let created = new_coupon(
        &app,
        &staff,
        json!({"code": "OK", "kind": "percent", "value": "50"}),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    let (status, answer) = app
        .patch(
            &format!("/api/coupons/{id}/"),
            Some(&staff),
            json!({"kind": "fixed"}),
        )
        .await;
    assert_eq!(
        (status, &answer["value"]),
        (400, &json!(["Give the value with the kind."]))
    );
    let (status, answer) = app
        .patch(
            &format!("/api/coupons/{id}/"),
            Some(&staff),
            json!({"value": "101"}),
        )
        .await;
    assert_eq!(
        status, 400,
        "a new value is read for the kind there: {answer}"
    );
    let rows = coupon::Entity::find()
        .all(&app.state.db)
        .await
        .expect("coupons");
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].kind.as_str(), rows[0].value), ("percent", 5000));
}

#[tokio::test]
async fn a_percentage_rounds_half_up_and_a_fixed_amount_never_exceeds_the_subtotal() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "51.44", 10).await;
    new_coupon(
        &app,
        &staff,
        json!({"code": "TEN", "kind": "percent", "value": "10"}),
    )
    .await;
    new_coupon(
        &app,
        &staff,
        json!({"code": "BIG", "kind": "fixed", "value": "80.00"}),
    )
    .await;
    add_to_cart(&app, &token, json!({"product_id": boot})).await;

    let (status, body) = apply(&app, &token, "ten").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            &body["coupon"],
            &body["subtotal"],
            &body["discount"],
            &body["total"]
        ),
        (
            &json!("TEN"),
            &json!("51.44"),
            &json!("5.14"),
            &json!("46.30")
        )
    );
    let (_, body) = apply(&app, &token, "BIG").await;
    assert_eq!(
        (&body["coupon"], &body["discount"], &body["total"]),
        (&json!("BIG"), &json!("51.44"), &json!("0.00"))
    );
    add_to_cart(&app, &token, json!({"product_id": boot})).await;
    let body = cart(&app, &token).await;
    assert_eq!(
        (&body["discount"], &body["total"]),
        (&json!("80.00"), &json!("22.88"))
    );

    let (status, body) = app.delete("/api/cart/coupon/", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&body["coupon"], &body["discount"], &body["total"]),
        (&Value::Null, &json!("0.00"), &json!("102.88"))
    );
}

#[tokio::test]
async fn a_coupon_that_does_not_apply_is_refused_under_code_saying_why() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    add_to_cart(&app, &token, json!({"product_id": boot})).await;
    let past = "2020-01-01T00:00:00Z";
    let future = "2099-01-01T00:00:00Z";
    for body in [
        json!({"code": "OFF", "kind": "fixed", "value": "1", "is_active": false}),
        json!({"code": "OLD", "kind": "fixed", "value": "1", "valid_until": past}),
        json!({"code": "SOON", "kind": "fixed", "value": "1", "valid_from": future}),
        json!({"code": "MIN", "kind": "fixed", "value": "1", "min_order_amount": "25"}),
        json!({"code": "ONE", "kind": "fixed", "value": "1", "max_uses": 1}),
    ] {
        new_coupon(&app, &staff, body).await;
    }
    // Someone else's order used ONE up.
    let one = coupon::Entity::find()
        .filter(coupon::Column::Code.eq("ONE"))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("ONE");
    let staff_id = app.get_as("/api/auth/me/", Some(&staff)).await.1["id"]
        .as_i64()
        .expect("id");
    let tx = app.state.db.begin().await.expect("begin");
    coupons::redeem(
        &tx,
        &one,
        staff_id,
        Money::from_minor(1000),
        emporium::time::now(),
    )
    .await
    .expect("database")
    .expect("redeemed");
    tx.commit().await.expect("commit");

    for (code, message) in [
        ("NOPE", "This coupon code does not exist."),
        ("off", "This coupon is not active."),
        ("OLD", "This coupon has expired."),
        ("SOON", "This coupon is not valid yet."),
        ("MIN", "This coupon needs an order of at least 25.00 USD."),
        ("ONE", "This coupon has been used up."),
    ] {
        let (status, body) = apply(&app, &token, code).await;
        assert_eq!(status, 400, "{code}: {body}");
        assert_eq!(body["code"], json!([message]), "{code}");
    }
    let (status, body) = app.post("/api/cart/coupon/", Some(&token), json!({})).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!(["This field is required."]))
    );
    let body = cart(&app, &token).await;
    assert_eq!(
        (&body["coupon"], &body["discount"]),
        (&Value::Null, &json!("0.00"))
    );
}

#[tokio::test]
async fn the_cart_checks_its_coupon_again_on_every_read() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let boot = product(&app, &staff, "Boot", "30.00", 10).await;
    let created = new_coupon(
        &app,
        &staff,
        json!({"code": "SPRING", "kind": "fixed", "value": "5", "min_order_amount": "50"}),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2})).await;
    let (status, body) = apply(&app, &token, "SPRING").await;
    assert_eq!((status, &body["total"]), (200, &json!("55.00")), "{body}");

    // Below the minimum now: no discount, and the cart says why; back above it, it applies.
    let (_, body) = app
        .patch(
            "/api/cart/update/",
            Some(&token),
            json!({"product_id": boot, "quantity": 1}),
        )
        .await;
    assert_eq!(
        (&body["coupon"], &body["discount"], &body["total"]),
        (&Value::Null, &json!("0.00"), &json!("30.00"))
    );
    assert_eq!(
        body["coupon_message"],
        "SPRING: This coupon needs an order of at least 50.00 USD."
    );
    let (_, body) = add_to_cart(&app, &token, json!({"product_id": boot})).await;
    assert_eq!(
        (&body["coupon"], &body["total"], &body["coupon_message"]),
        (&json!("SPRING"), &json!("55.00"), &Value::Null)
    );

    // It expires between apply and read.
    let past = (emporium::time::now() - chrono::Duration::seconds(1)).to_rfc3339();
    let (status, _) = app
        .patch(
            &format!("/api/coupons/{id}/"),
            Some(&staff),
            json!({"valid_until": past}),
        )
        .await;
    assert_eq!(status, 200);
    let body = cart(&app, &token).await;
    assert_eq!(
        (
            &body["coupon"],
            &body["discount"],
            &body["total"],
            &body["coupon_message"]
        ),
        (
            &Value::Null,
            &json!("0.00"),
            &json!("60.00"),
            &json!("SPRING: This coupon has expired.")
        )
    );

    // Deleted: the cart simply has none.
    app.delete(&format!("/api/coupons/{id}/"), Some(&staff))
        .await;
    let body = cart(&app, &token).await;
    assert_eq!(
        (&body["coupon"], &body["coupon_message"], &body["total"]),
        (&Value::Null, &Value::Null, &json!("60.00"))
    );
}

#[tokio::test]
async fn guessing_codes_is_throttled_per_user_and_a_code_that_applies_does_not_count() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_THROTTLE_COUPON", "3/hour".to_owned())],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let (guesser, other) = (app.customer_token().await, app.customer_token().await);
    new_coupon(
        &app,
        &staff,
        json!({"code": "REAL", "kind": "fixed", "value": "1"}),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(
            apply(&app, &other, "REAL").await.0,
            200,
            "successes are not counted"
        );
    }
    for guess in ["AAAA", "AAAB", "AAAC"] {
        assert_eq!(apply(&app, &guesser, guess).await.0, 400);
    }
    let response = app
        .request(Method::POST, "/api/cart/coupon/", Some(&guesser))
        .json(&json!({"code": "REAL"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        apply(&app, &other, "AAAD").await.0,
        400,
        "another user is not held back"
    );
}

/// `n` users made directly in the database (the redemption needs real user rows, not logins).
async fn users(app: &TestApp, n: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let row = user::ActiveModel {
            email: Set(format!(
                "buyer{i}-{}@example.com",
                uuid::Uuid::new_v4().simple()
            )),
            password: Set("!".to_owned()),
            first_name: Set(String::new()),
            last_name: Set(String::new()),
            is_staff: Set(false),
            is_active: Set(true),
            date_joined: Set(emporium::time::now()),
            last_login: Set(None),
            ..Default::default()
        }
        .insert(&app.state.db)
        .await
        .expect("user");
        ids.push(row.id);
    }
    ids
}

/// Redeems `coupon_id` once per entry of `buyers`, all at once, each in its own transaction;
/// returns how many were redeemed.
async fn redeem_in_parallel(app: &TestApp, coupon_id: i64, buyers: Vec<i64>) -> usize {
    let db = Arc::new(app.state.db.clone());
    let coupon = Arc::new(
        coupon::Entity::find_by_id(coupon_id)
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("coupon"),
    );
    let tasks: Vec<_> = buyers
        .into_iter()
        .map(|user_id| {
            let (db, coupon) = (db.clone(), coupon.clone());
            tokio::spawn(async move {
                let tx = emporium::db::begin_write(&db).await.expect("begin");
                let outcome = coupons::redeem(
                    &tx,
                    &coupon,
                    user_id,
                    Money::from_minor(10_000),
                    emporium::time::now(),
                )
                .await
                .expect("no database error");
                tx.commit().await.expect("commit");
                outcome.is_ok()
            })
        })
        .collect();
    let mut redeemed = 0;
    for task in tasks {
        if task.await.expect("task") {
            redeemed += 1;
        }
    }
    redeemed
}

async fn stored_uses(app: &TestApp, coupon_id: i64) -> (i64, i64) {
    let row = coupon::Entity::find_by_id(coupon_id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("coupon");
    let per_user: i64 = coupon_use::Entity::find()
        .filter(coupon_use::Column::CouponId.eq(coupon_id))
        .all(&app.state.db)
        .await
        .expect("uses")
        .iter()
        .map(|u| u.uses)
        .sum();
    (row.uses, per_user)
}

#[tokio::test]
async fn thirty_parallel_redemptions_of_a_ten_use_coupon_redeem_exactly_ten() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let created = new_coupon(
        &app,
        &staff,
        json!({"code": "TEN-USES", "kind": "percent", "value": "10", "max_uses": 10}),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    let buyers = users(&app, 30).await;
    assert_eq!(redeem_in_parallel(&app, id, buyers.clone()).await, 10);
    assert_eq!(stored_uses(&app, id).await, (10, 10));

    // Giving one back frees exactly one use.
    let winner = coupon_use::Entity::find()
        .filter(coupon_use::Column::CouponId.eq(id))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("a use");
    let tx = app.state.db.begin().await.expect("begin");
    coupons::release(&tx, id, winner.user_id)
        .await
        .expect("release");
    tx.commit().await.expect("commit");
    assert_eq!(stored_uses(&app, id).await, (9, 9));
    assert_eq!(redeem_in_parallel(&app, id, buyers).await, 1);
    assert_eq!(stored_uses(&app, id).await, (10, 10));
}

#[tokio::test]
async fn parallel_redemptions_by_one_user_stay_within_the_per_user_limit() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let created = new_coupon(
        &app,
        &staff,
        json!({"code": "TWICE", "kind": "fixed", "value": "1", "max_uses_per_user": 2}),
    )
    .await;
    let id = created["id"].as_i64().expect("id");
    let buyer = users(&app, 1).await[0];
    assert_eq!(redeem_in_parallel(&app, id, vec![buyer; 12]).await, 2);
    assert_eq!(
        stored_uses(&app, id).await,
        (2, 2),
        "refused redemptions gave their global use back"
    );
}
