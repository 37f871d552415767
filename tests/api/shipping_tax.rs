//! Shipping and tax as a customer meets them: the methods that reach a destination priced for
//! the cart, the cart's chosen address and method with its shipping, tax and total (a method
//! that no longer applies dropped, saying why), the checkout refusing an order without a valid
//! method or to a country no zone covers, and the order keeping every amount whatever changes
//! later — added tax as US shops charge it and contained tax as EU shops must show it. The
//! amounts are the ones worked out by hand in `src/tax/pricing_tests.rs`.

use emporium::cache::Change;
use emporium::payments::payment;
use emporium::shipping::reach::SHIPPING_SCOPE;
use emporium::shipping::{method, zone, zone_area};
use emporium::tax::lookup::RATES_SCOPE;
use emporium::tax::rate;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::fixtures::{add_to_cart, cart, new_address, place_order, product, stock};
use crate::helpers::{Spawn, TestApp, spawn, spawn_app};

/// A zone called `name` over `areas` (`(country, region)`, `""` for the whole country).
pub async fn zone_of(app: &TestApp, name: &str, areas: &[(&str, &str)]) -> i64 {
    let now = emporium::time::now();
    let row = zone::ActiveModel {
        name: Set(name.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("zone");
    for (country, region) in areas {
        zone_area::ActiveModel {
            zone_id: Set(row.id),
            country: Set((*country).to_owned()),
            region: Set((*region).to_owned()),
            region_key: Set(emporium::shipping::reach::region_key(region)),
            ..Default::default()
        }
        .insert(&app.state.db)
        .await
        .expect("area");
    }
    written(app, SHIPPING_SCOPE).await;
    row.id
}

/// What the staff endpoints do on every write of shipping or tax: the cached zones, methods
/// and rates of `scope` are not served from now on (the fixtures write the rows directly).
async fn written(app: &TestApp, scope: &'static str) {
    let tx = sea_orm::TransactionTrait::begin(&app.state.db)
        .await
        .expect("begin");
    let mut change = Change::new();
    change.scope(scope);
    app.state.cache.commit(tx, change).await.expect("commit");
}

/// A method of `zone`: flat at `price` (minor units), or by weight bands `(up_to_grams,
/// price)` when `bands` is given; free at or over `free_over`.
pub async fn method_of(
    app: &TestApp,
    zone_id: i64,
    name: &str,
    price: i64,
    bands: Option<&[(i64, i64)]>,
    free_over: Option<i64>,
) -> i64 {
    let now = emporium::time::now();
    let (kind, price, rates) = match bands {
        Some(bands) => (
            method::MethodKind::Weight,
            None,
            Some(serde_json::to_string(bands).expect("bands")),
        ),
        None => (method::MethodKind::Flat, Some(price), None),
    };
    let id = method::ActiveModel {
        zone_id: Set(zone_id),
        name: Set(name.to_owned()),
        kind: Set(kind),
        price: Set(price),
        rates: Set(rates),
        free_over: Set(free_over),
        min_days: Set(Some(2)),
        max_days: Set(Some(5)),
        is_active: Set(true),
        tax_class: Set("standard".to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("method")
    .id;
    written(app, SHIPPING_SCOPE).await;
    id
}

/// A tax rate: `millionths` of the amount for `class` in `country` (and `region`).
pub async fn rate_of(
    app: &TestApp,
    (country, region): (&str, &str),
    class: &str,
    millionths: i64,
    name: &str,
) -> i64 {
    let now = emporium::time::now();
    let id = rate::ActiveModel {
        country: Set(country.to_owned()),
        region: Set(region.to_owned()),
        region_key: Set(region.to_lowercase()),
        tax_class: Set(class.to_owned()),
        rate: Set(millionths),
        name: Set(name.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("rate")
    .id;
    written(app, RATES_SCOPE).await;
    id
}

fn address_in(country: &str, state: &str) -> Value {
    json!({"full_name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield",
        "state": state, "postal_code": "12345", "country": country})
}

async fn choose(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.call(
        reqwest::Method::PUT,
        "/api/cart/shipping/",
        Some(token),
        Some(body),
    )
    .await
}

/// A US shop: the lower 48 by Standard (5.99, free at 50.00) or by weight (4.50 to 500 g,
/// 9.00 to 2 kg), Alaska and Hawaii by Remote (19.99); New York's 8.875 % sales tax.
struct UsShop {
    standard: i64,
    by_weight: i64,
    remote: i64,
}

async fn us_shop(app: &TestApp) -> UsShop {
    let mainland = zone_of(app, "US", &[("US", "")]).await;
    let islands = zone_of(app, "Alaska and Hawaii", &[("US", "AK"), ("US", "HI")]).await;
    let standard = method_of(app, mainland, "Standard", 599, None, Some(5000)).await;
    let by_weight = method_of(
        app,
        mainland,
        "By weight",
        0,
        Some(&[(500, 450), (2000, 900)]),
        None,
    )
    .await;
    let remote = method_of(app, islands, "Remote", 1999, None, None).await;
    rate_of(app, ("US", "NY"), "standard", 88_750, "Sales tax").await;
    UsShop {
        standard,
        by_weight,
        remote,
    }
}

fn names(methods: &Value) -> Vec<(&str, &str)> {
    methods
        .as_array()
        .expect("list")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name"),
                m["price"].as_str().expect("price"),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_methods_that_reach_a_destination_are_priced_for_the_cart_cheapest_first() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let shop = us_shop(&app).await;
    let boot = product(&app, &staff, "Boot", "12.00", 10).await;
    let variant = crate::fixtures::only_variant(&app, boot).await;
    let (status, _) = app
        .patch(
            &format!("/api/products/{boot}/variants/{variant}/"),
            Some(&staff),
            json!({"weight_grams": 400}),
        )
        .await;
    assert_eq!(status, 200);
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 1})).await;

    let (status, methods) = app
        .get_as(
            "/api/cart/shipping-methods/?country=US&region=CA",
            Some(&token),
        )
        .await;
    assert_eq!(status, 200, "{methods}");
    assert_eq!(
        names(&methods),
        [("By weight", "4.50"), ("Standard", "5.99")]
    );
    assert_eq!(methods[1]["id"], shop.standard);
    assert_eq!(
        (&methods[1]["min_days"], &methods[1]["max_days"]),
        (&json!(2), &json!(5))
    );

    // Two boots weigh 800 g: the second band. Five weigh 2 kg and cost 60.00: Standard is free.
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 1})).await;
    let (_, methods) = app
        .get_as("/api/cart/shipping-methods/?country=us", Some(&token))
        .await;
    assert_eq!(
        names(&methods),
        [("Standard", "5.99"), ("By weight", "9.00")]
    );
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 3})).await;
    let (_, methods) = app
        .get_as("/api/cart/shipping-methods/?country=US", Some(&token))
        .await;
    assert_eq!(
        names(&methods),
        [("Standard", "0.00"), ("By weight", "9.00")]
    );
    // Six weigh 2.4 kg: too heavy for the bands, so that method is not offered.
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 1})).await;
    let (_, methods) = app
        .get_as("/api/cart/shipping-methods/?country=US", Some(&token))
        .await;
    assert_eq!(names(&methods), [("Standard", "0.00")]);

    // The narrowed zone wins for its regions, whatever their case; nobody ships to Japan.
    let (_, methods) = app
        .get_as(
            "/api/cart/shipping-methods/?country=US&region=ak",
            Some(&token),
        )
        .await;
    assert_eq!(names(&methods), [("Remote", "19.99")]);
    assert_eq!(methods[0]["id"], shop.remote);
    let (status, methods) = app
        .get_as("/api/cart/shipping-methods/?country=JP", Some(&token))
        .await;
    assert_eq!((status, methods), (200, json!([])));

    // A saved address; another user's is refused, as are bad countries and no destination.
    let mine = new_address(&app, &token).await;
    let (_, methods) = app
        .get_as(
            &format!("/api/cart/shipping-methods/?address_id={mine}"),
            Some(&token),
        )
        .await;
    assert_eq!(methods.as_array().map(Vec::len), Some(1));
    let other = app.customer_token().await;
    for (query, field) in [
        (format!("address_id={mine}"), "address_id"),
        ("country=XX".to_owned(), "country"),
        (String::new(), "country"),
    ] {
        let (status, body) = app
            .get_as(
                &format!("/api/cart/shipping-methods/?{query}"),
                Some(&other),
            )
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body[field].is_array(), "{query}: {body}");
    }
    let (status, _) = app.get("/api/cart/shipping-methods/?country=US").await;
    assert_eq!(status, 401);
    let _ = shop.by_weight;
}

#[tokio::test]
async fn the_cart_shows_its_shipping_and_tax_and_drops_a_method_that_no_longer_applies() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let shop = us_shop(&app).await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 1})).await;

    // Before a destination: no shipping, no tax.
    let before = cart(&app, &token).await;
    assert_eq!(
        (
            &before["shipping"],
            &before["tax"],
            &before["tax_lines"],
            &before["total"]
        ),
        (&Value::Null, &Value::Null, &json!([]), &json!("10.00"))
    );
    assert_eq!(before["prices_include_tax"], false);

    // New York: 10.00 × 8.875 % = 0.89, shipping 5.99 × 8.875 % = 0.53; 10.00 + 5.99 + 1.42.
    let (status, body) = choose(
        &app,
        &token,
        json!({"address": address_in("US", "NY"), "method_id": shop.standard}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["shipping_address"]["state"], "NY");
    assert_eq!(
        body["shipping_method"],
        json!({"id": shop.standard, "name": "Standard", "price": "5.99", "min_days": 2, "max_days": 5})
    );
    assert_eq!(
        (&body["shipping"], &body["tax"], &body["total"]),
        (&json!("5.99"), &json!("1.42"), &json!("17.41"))
    );
    assert_eq!(
        body["tax_lines"],
        json!([{"name": "Sales tax", "rate": "8.875", "amount": "1.42"}])
    );
    assert_eq!(body["shipping_message"], Value::Null);
    assert_eq!(
        cart(&app, &token).await["total"],
        "17.41",
        "kept on the cart"
    );

    // A method of another zone, an unknown one, or another user's address: 400, nothing changes.
    for (body, field) in [
        (
            json!({"address": address_in("US", "NY"), "method_id": shop.remote}),
            "method_id",
        ),
        (
            json!({"address": address_in("US", "NY"), "method_id": 999_999}),
            "method_id",
        ),
        (
            json!({"address": address_in("JP", ""), "method_id": shop.standard}),
            "method_id",
        ),
        (
            json!({"address_id": 999_999, "method_id": shop.standard}),
            "address_id",
        ),
        (json!({"method_id": shop.standard}), "address_id"),
    ] {
        let (status, answer) = choose(&app, &token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer[field].is_array(), "{body}: {answer}");
    }
    assert_eq!(cart(&app, &token).await["total"], "17.41");

    // Deactivated: dropped on the next read, saying why; tax stays for the address.
    method::Entity::update_many()
        .col_expr(method::Column::IsActive, false.into())
        .filter(method::Column::Id.eq(shop.standard))
        .exec(&app.state.db)
        .await
        .expect("deactivate");
    written(&app, SHIPPING_SCOPE).await;
    let after = cart(&app, &token).await;
    assert_eq!(
        (
            &after["shipping_method"],
            &after["shipping"],
            &after["total"]
        ),
        (&Value::Null, &Value::Null, &json!("10.89"))
    );
    assert_eq!(
        after["shipping_message"],
        "The shipping method you chose is no longer available."
    );

    // Too heavy for a weight method: refused when chosen, dropped when the cart grows.
    let variant = crate::fixtures::only_variant(&app, boot).await;
    app.patch(
        &format!("/api/products/{boot}/variants/{variant}/"),
        Some(&staff),
        json!({"weight_grams": 1500}),
    )
    .await;
    let (status, body) = choose(
        &app,
        &token,
        json!({"address": address_in("US", "CA"), "method_id": shop.by_weight}),
    )
    .await;
    assert_eq!((status, &body["shipping"]), (200, &json!("9.00")), "{body}");
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 1})).await;
    let heavy = cart(&app, &token).await;
    assert_eq!(
        (&heavy["shipping"], &heavy["shipping_message"]),
        (
            &Value::Null,
            &json!("Your cart is too heavy for the shipping method you chose.")
        )
    );
    let (status, body) = choose(
        &app,
        &token,
        json!({"address": address_in("US", "CA"), "method_id": shop.by_weight}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["method_id"],
        json!(["Your cart is too heavy for the shipping method you chose."])
    );
}

#[tokio::test]
async fn checkout_refuses_an_order_without_a_valid_method_or_to_a_country_no_zone_covers() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let shop = us_shop(&app).await;
    let boot = product(&app, &staff, "Boot", "10.00", 10).await;
    add_to_cart(&app, &token, json!({"product_id": boot, "quantity": 2})).await;

    let cases = [
        (
            json!({"shipping_address": address_in("US", "CA")}),
            "shipping_method_id",
        ),
        (
            json!({"shipping_address": address_in("JP", ""), "shipping_method_id": shop.standard}),
            "shipping_address",
        ),
        (
            json!({"shipping_address": address_in("FR", "")}),
            "shipping_address",
        ),
        (
            json!({"shipping_address": address_in("US", "HI"), "shipping_method_id": shop.standard}),
            "shipping_method_id",
        ),
        (
            json!({"shipping_address": address_in("US", "CA"), "shipping_method_id": 999_999}),
            "shipping_method_id",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = place_order(&app, &token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer[field].is_array(), "{body}: {answer}");
        if field == "shipping_address" {
            assert_eq!(answer[field], json!(["We do not ship to this country."]));
        }
    }
    // Nothing was taken and the cart is as it was.
    assert_eq!(stock(&app, boot).await, 10);
    assert_eq!(cart(&app, &token).await["total_items"], 2);

    // The cart's choice is used; the request's method replaces it.
    choose(
        &app,
        &token,
        json!({"address": address_in("US", "CA"), "method_id": shop.by_weight}),
    )
    .await;
    let (status, order) =
        place_order(&app, &token, json!({"shipping_method_id": shop.standard})).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (
            &order["shipping_method"],
            &order["shipping_address"]["state"]
        ),
        (&json!({"name": "Standard", "price": "5.99"}), &json!("CA"))
    );
    assert_eq!(order["total_amount"], "25.99");
}

#[tokio::test]
async fn an_order_keeps_its_amounts_and_is_paid_and_refunded_for_its_whole_total() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let mainland = zone_of(&app, "US", &[("US", "")]).await;
    let standard = method_of(&app, mainland, "Standard", 500, None, None).await;
    rate_of(&app, ("US", ""), "standard", 200_000, "Sales tax").await;
    let ids = [
        product(&app, &staff, "A", "10.00", 5).await,
        product(&app, &staff, "B", "10.00", 5).await,
        product(&app, &staff, "C", "10.01", 5).await,
    ];
    for id in ids {
        add_to_cart(&app, &token, json!({"product_id": id})).await;
    }
    let (status, _) = app
        .post(
            "/api/coupons/",
            Some(&staff),
            json!({"code": "FIVE", "kind": "fixed", "value": "5.00"}),
        )
        .await;
    assert_eq!(status, 201);
    app.post("/api/cart/coupon/", Some(&token), json!({"code": "FIVE"}))
        .await;
    // 5.00 off 10.00/10.00/10.01 is 1.67/1.66/1.67; 20 % of 8.33/8.34/8.34 is 1.67 each, and
    // of shipping 5.00 is 1.00: tax 6.01; total 30.01 − 5.00 + 5.00 + 6.01 = 36.02.
    let (status, order) = place_order(
        &app,
        &token,
        json!({"shipping_address": address_in("US", "CA"), "shipping_method_id": standard}),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    let expected = json!({
        "subtotal": "30.01", "discount": "5.00", "shipping_amount": "5.00", "tax_amount": "6.01",
        "total_amount": "36.02", "prices_include_tax": false,
        "tax_lines": [{"name": "Sales tax", "rate": "20.00", "amount": "6.01"}],
        "shipping_method": {"name": "Standard", "price": "5.00"},
    });
    let amounts = |order: &Value| -> Value {
        expected
            .as_object()
            .expect("object")
            .keys()
            .map(|k| (k.clone(), order[k].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    assert_eq!(amounts(&order), expected);
    let taxes: Vec<(&Value, &Value)> = order["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| (&i["tax_rate"], &i["tax_amount"]))
        .collect();
    assert_eq!(taxes, vec![(&json!("20.00"), &json!("1.67")); 3]);

    // Later changes to rates, methods and zones change no placed order.
    rate::Entity::update_many()
        .col_expr(rate::Column::Rate, 50_000_i64.into())
        .exec(&app.state.db)
        .await
        .expect("rate");
    zone::Entity::delete_by_id(mainland)
        .exec(&app.state.db)
        .await
        .expect("zone");
    written(&app, RATES_SCOPE).await;
    written(&app, SHIPPING_SCOPE).await;
    let id = order["id"].as_str().expect("id");
    let (_, again) = app
        .get_as(&format!("/api/orders/{id}/"), Some(&token))
        .await;
    assert_eq!(amounts(&again), expected);

    // The payment is for the total; cancelling the paid order refunds all of it.
    let payment_id = crate::fixtures::pay_with_dummy(&app, &token, id, &[]).await;
    let paid = payment::Entity::find_by_id(payment_id.clone())
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("payment");
    assert_eq!(paid.amount, 3602);
    let (status, body) = app
        .post_empty(&format!("/api/orders/{id}/cancel/"), Some(&staff))
        .await;
    assert_eq!(status, 200, "{body}");
    let refunded = crate::helpers::eventually(std::time::Duration::from_secs(10), || async {
        let (_, order) = app
            .get_as(&format!("/api/orders/{id}/"), Some(&token))
            .await;
        order["payment_status"] == "REFUNDED"
    })
    .await;
    assert!(refunded, "the whole payment is refunded");
}

#[tokio::test]
async fn inclusive_prices_contain_their_tax_and_the_total_does_not_move() {
    let app = spawn(Spawn {
        settings: vec![
            ("EMPORIUM_PRICES_INCLUDE_TAX", "true".to_owned()),
            ("EMPORIUM_SHOP_COUNTRY", "FR".to_owned()),
            ("EMPORIUM_CURRENCY", "EUR".to_owned()),
        ],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    rate_of(&app, ("FR", ""), "standard", 200_000, "TVA").await;
    rate_of(&app, ("FR", ""), "reduced", 55_000, "TVA").await;
    let shirt = product(&app, &staff, "Shirt", "20.00", 5).await;
    let category = crate::fixtures::new_category(&app, &staff, "Books", None).await;
    let book = crate::fixtures::new_product(
        &app,
        &staff,
        json!({"name": "Book", "price": "10.00", "stock": 5, "category": category, "tax_class": "reduced"}),
    )
    .await;
    assert_eq!(book["tax_class"], "reduced");
    add_to_cart(&app, &token, json!({"product_id": shirt})).await;
    add_to_cart(&app, &token, json!({"product_id": book["id"]})).await;

    // Before a destination: the shop's own country's tax, contained.
    let before = cart(&app, &token).await;
    assert_eq!(
        (
            &before["tax"],
            &before["total"],
            &before["prices_include_tax"]
        ),
        (&json!("3.85"), &json!("30.00"), &json!(true))
    );
    assert_eq!(
        before["tax_lines"],
        json!([{"name": "TVA", "rate": "20.00", "amount": "3.33"},
               {"name": "TVA", "rate": "5.50", "amount": "0.52"}])
    );
    // Germany has no rate here: untaxed, and the total is the same.
    let (_, order) = place_order(
        &app,
        &token,
        json!({"shipping_address": address_in("DE", "")}),
    )
    .await;
    assert_eq!(
        (
            &order["tax_amount"],
            &order["tax_lines"],
            &order["total_amount"]
        ),
        (&json!("0.00"), &json!([]), &json!("30.00"))
    );
    assert_eq!(order["prices_include_tax"], true);
    assert_eq!(order["currency"], "EUR");
}

#[tokio::test]
async fn the_invoice_shows_net_tax_per_rate_shipping_and_total_with_both_addresses() {
    let app = spawn(Spawn {
        settings: vec![
            ("EMPORIUM_SHOP_NAME", "Emporium GmbH".to_owned()),
            (
                "EMPORIUM_SHOP_ADDRESS",
                "Hauptstraße 5 | 10115 Berlin | Deutschland".to_owned(),
            ),
            ("EMPORIUM_PRICES_INCLUDE_TAX", "true".to_owned()),
            ("EMPORIUM_SHOP_COUNTRY", "DE".to_owned()),
            ("EMPORIUM_CURRENCY", "EUR".to_owned()),
        ],
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let zone = zone_of(&app, "India", &[("IN", "")]).await;
    let method = method_of(&app, zone, "Express", 1200, None, None).await;
    rate_of(&app, ("IN", ""), "standard", 180_000, "GST").await;
    let tea = product(&app, &staff, "Tea", "23.60", 5).await;
    add_to_cart(&app, &token, json!({"product_id": tea, "quantity": 1})).await;
    let address = json!({"full_name": "अनन्या शर्मा", "line1": "मरीन ड्राइव", "city": "मुंबई",
        "state": "MH", "postal_code": "400020", "country": "IN"});
    let (status, order) = place_order(
        &app,
        &token,
        json!({"shipping_address": address, "shipping_method_id": method}),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    // Gross 23.60 at 18 %: 23.60 − 23.60/1.18 = 3.60; shipping 12.00: 12.00 − 12.00/1.18 =
    // 1.8305 → 1.83. Tax 5.43 inside a total of 35.60; net 30.17.
    assert_eq!(
        (&order["tax_amount"], &order["total_amount"]),
        (&json!("5.43"), &json!("35.60"))
    );
    let id = order["id"].as_str().expect("id");
    crate::fixtures::pay_with_dummy(&app, &token, id, &[]).await;
    let text = crate::invoices::pdf_text(&crate::invoices::invoice_of(&app, &token, id).await);
    for expected in [
        "Emporium GmbH",
        "Hauptstraße 5",
        "10115 Berlin",
        "अनन्या शर्मा",
        "मुंबई",
        "Subtotal: 23.60 EUR",
        "Shipping (Express): 12.00 EUR",
        "Net: 30.17 EUR",
        "GST 18.00 %: 5.43 EUR",
        "Total: 35.60 EUR",
        "Prices include tax.",
    ] {
        assert!(text.contains(expected), "{expected:?} in:\n{text}");
    }
}

#[tokio::test]
async fn a_variants_tax_class_overrides_its_products_and_a_zero_rate_makes_no_tax_line() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    rate_of(&app, ("GB", ""), "standard", 200_000, "VAT").await;
    rate_of(&app, ("GB", ""), "zero", 0, "VAT").await;
    let category = crate::fixtures::new_category(&app, &staff, "Kids", None).await;
    let coat = crate::fixtures::new_product(
        &app,
        &staff,
        json!({"name": "Coat", "category": category, "options": [{"name": "Size", "values": ["Adult", "Child"]}],
               "variants": [{"sku": "COAT-A", "price": "50.00", "stock": 3, "options": {"Size": "Adult"}},
                            {"sku": "COAT-C", "price": "30.00", "stock": 3, "options": {"Size": "Child"},
                             "tax_class": "zero"}]}),
    )
    .await;
    for variant in coat["variants"].as_array().expect("variants") {
        let (status, body) = add_to_cart(&app, &token, json!({"variant_id": variant["id"]})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = choose(&app, &token, json!({"address": address_in("GB", "")})).await;
    assert_eq!(status, 200, "{body}");
    // Adult 50.00 × 20 % = 10.00; the child's coat is zero-rated: no line for it.
    assert_eq!(
        (&body["tax"], &body["total"], &body["shipping"]),
        (&json!("10.00"), &json!("90.00"), &Value::Null)
    );
    assert_eq!(
        body["tax_lines"],
        json!([{"name": "VAT", "rate": "20.00", "amount": "10.00"}])
    );
    let (status, order) = place_order(&app, &token, json!({})).await;
    assert_eq!(status, 201, "{order}");
    let rates: Vec<&Value> = order["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["tax_rate"])
        .collect();
    assert_eq!(rates, [&json!("20.00"), &json!("0.00")]);
    assert_eq!(
        order["shipping_address"]["country"], "GB",
        "the cart's address"
    );
}

#[tokio::test]
async fn a_region_matches_however_its_accents_were_typed() {
    let app = spawn_app().await;
    let token = app.customer_token().await;
    // Stored with a precomposed é; asked with e and a combining accent, and in capitals.
    let quebec = zone_of(&app, "Québec", &[("CA", "Québec")]).await;
    method_of(&app, quebec, "Québec post", 900, None, None).await;
    for region in [
        "Qu%C3%A9bec",
        "Que%CC%81bec",
        "QUE%CC%81BEC",
        "%20qu%C3%A9bec%20",
    ] {
        let (status, methods) = app
            .get_as(
                &format!("/api/cart/shipping-methods/?country=CA&region={region}"),
                Some(&token),
            )
            .await;
        assert_eq!(status, 200, "{methods}");
        assert_eq!(names(&methods), [("Québec post", "9.00")], "{region}");
    }
    let (_, elsewhere) = app
        .get_as(
            "/api/cart/shipping-methods/?country=CA&region=Ontario",
            Some(&token),
        )
        .await;
    assert_eq!(elsewhere, json!([]));
}
