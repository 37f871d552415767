//! Options and variants: a product sold in sizes and colours — its shape, the staff endpoints
//! and their refusals, cart lines and order items per variant, and the no-oversell guarantee
//! per variant (also on two instances).

use emporium::catalog::{stock_movement, variant};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{
    add_to_cart, address, cart, new_category, new_product, place_order, product,
};
use crate::helpers::{Answer, Spawn, TestApp, TestDatabase, burst, count, spawn, spawn_app};

/// A tee in S/M/L × Red/Blue: S and M at 18.00, L at 20.00; `stock` each. Returns the product.
pub async fn tee(app: &TestApp, staff: &str, stock: i64) -> Value {
    let category = new_category(app, staff, "Tees", None).await;
    let mut variants = Vec::new();
    for (size, price) in [("S", "18.00"), ("M", "18.00"), ("L", "20.00")] {
        for colour in ["Red", "Blue"] {
            variants.push(json!({
                "sku": format!("TEE-{colour}-{size}"), "price": price, "stock": stock,
                "options": {"Size": size, "Colour": colour},
            }));
        }
    }
    new_product(
        app,
        staff,
        json!({
            "name": "Tee", "category": category,
            "options": [{"name": "Size", "values": ["S", "M", "L"]},
                        {"name": "Colour", "values": ["Red", "Blue"]}],
            "variants": variants,
        }),
    )
    .await
}

/// The id of the variant of `product` with these options.
pub fn variant_of(product: &Value, size: &str, colour: &str) -> i64 {
    product["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["options"] == json!({"Size": size, "Colour": colour}))
        .and_then(|v| v["id"].as_i64())
        .expect("the variant")
}

fn skus(product: &Value) -> Vec<&str> {
    product["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .filter_map(|v| v["sku"].as_str())
        .collect()
}

#[tokio::test]
async fn a_product_with_options_shows_its_variants_in_option_order_and_from_figures() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let tee = tee(&app, &staff, 3).await;
    let id = tee["id"].as_i64().expect("id");
    assert_eq!(
        tee["options"],
        json!([{"name": "Size", "values": ["S", "M", "L"]},
               {"name": "Colour", "values": ["Red", "Blue"]}])
    );
    assert_eq!(
        skus(&tee),
        [
            "TEE-Red-S",
            "TEE-Blue-S",
            "TEE-Red-M",
            "TEE-Blue-M",
            "TEE-Red-L",
            "TEE-Blue-L"
        ]
    );
    let large = &tee["variants"][4];
    assert_eq!(
        large,
        &json!({"id": large["id"], "sku": "TEE-Red-L", "options": {"Size": "L", "Colour": "Red"},
                "price": "20.00", "compare_at_price": null, "stock": 3, "in_stock": true,
                "is_active": true, "weight_grams": null, "tax_class": null, "image_id": null})
    );
    // `price` is "from" (the lowest), `stock` the sum, `in_stock` any.
    assert_eq!(
        (&tee["price"], &tee["stock"], &tee["in_stock"]),
        (&json!("18.00"), &json!(18), &json!(true))
    );
    // A deactivated variant leaves the shopper's view and the figures; staff still see it.
    let small_red = variant_of(&tee, "S", "Red");
    let (status, _) = app
        .patch(
            &format!("/api/products/{id}/variants/{small_red}/"),
            Some(&staff),
            json!({"is_active": false, "price": "1.00"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, shown) = app.get(&format!("/api/products/{id}/")).await;
    assert_eq!(shown["variants"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        (&shown["price"], &shown["stock"]),
        (&json!("18.00"), &json!(15))
    );
    let (_, listed) = app.get(&format!("/api/products/{id}/variants/")).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(5));
    let (_, for_staff) = app
        .get_as(&format!("/api/products/{id}/variants/"), Some(&staff))
        .await;
    assert_eq!(for_staff.as_array().map(Vec::len), Some(6));
    // A product created with options and no variants is not shown to shoppers.
    let category = new_category(&app, &staff, "Soon", None).await;
    let bare = new_product(
        &app,
        &staff,
        json!({"name": "Soon", "category": category,
               "options": [{"name": "Size", "values": ["S"]}]}),
    )
    .await;
    assert_eq!(bare["variants"], json!([]));
    assert_eq!(
        app.get(&format!("/api/products/{}/", bare["id"])).await.0,
        404
    );
    let (_, page) = app.get("/api/products/").await;
    assert_eq!(page["count"], 1, "only the tee: {page}");
}

#[tokio::test]
async fn variant_writes_are_checked_field_by_field_and_the_database_decides_uniqueness() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let tee = tee(&app, &staff, 3).await;
    let id = tee["id"].as_i64().expect("id");
    let path = format!("/api/products/{id}/variants/");
    let post = |body: Value| app.post(&path, Some(&staff), body);
    let (status, body) = post(json!({"sku": "tee-red-s", "price": "1.00",
        "options": {"Size": "XL", "Colour": "Red"}}))
    .await;
    assert_eq!(status, 400);
    assert!(body["options"].is_array(), "{body}");
    // The SKU is unique in the shop whatever the case.
    let (status, body) = post(json!({"sku": "tee-red-s", "price": "1.00",
        "options": {"Size": "S", "Colour": "Red"}}))
    .await;
    assert_eq!((status, body["sku"].is_array()), (400, true), "{body}");
    // One variant per combination: 409.
    let (status, body) = post(json!({"sku": "NEW-1", "price": "1.00",
        "options": {"size": "s", "colour": "red"}}))
    .await;
    assert_eq!(status, 409, "{body}");
    for bad in [
        json!({"sku": "has space", "price": "1.00", "options": {}}),
        json!({"sku": "X", "options": {"Size": "S", "Colour": "Red"}}),
        json!({"sku": "X", "price": "-1", "options": {"Size": "S", "Colour": "Red"}}),
        json!({"sku": "X", "price": "1", "stock": -1, "options": {"Size": "S", "Colour": "Red"}}),
        json!({"sku": "X", "price": "1", "image_id": 999, "options": {"Size": "S", "Colour": "Red"}}),
    ] {
        assert_eq!(post(bad.clone()).await.0, 400, "{bad}");
    }
    // A product with options refuses price and stock beside them.
    let category = new_category(&app, &staff, "Caps", None).await;
    let (status, body) = app
        .post(
            "/api/products/",
            Some(&staff),
            json!({"name": "Cap", "category": category, "price": "5.00",
                   "options": [{"name": "Size", "values": ["S"]}]}),
        )
        .await;
    assert_eq!((status, body["price"].is_array()), (400, true), "{body}");
    // The price of a product with several variants is changed on them.
    let (status, body) = app
        .patch(
            &format!("/api/products/{id}/"),
            Some(&staff),
            json!({"price": "9.00"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["price"][0]
            .as_str()
            .is_some_and(|m| m.contains("variants")),
        "{body}"
    );
    let (status, body) = app
        .post(
            &format!("/api/products/{id}/stock/"),
            Some(&staff),
            json!({"delta": 1}),
        )
        .await;
    assert_eq!(
        status, 409,
        "the product-level stock endpoint needs one variant"
    );
    // As the endpoint's other 409s, with the stock: the product's, over its variants.
    assert!(body["stock"].is_i64(), "{body}");
    // Nothing of that was stored.
    let stored = variant::Entity::find()
        .filter(variant::Column::ProductId.eq(id))
        .all(&app.state.db)
        .await
        .expect("variants");
    assert_eq!(stored.len(), 6);
}

#[tokio::test]
async fn options_change_with_their_variants_and_a_used_value_stays() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let tee = tee(&app, &staff, 1).await;
    let id = tee["id"].as_i64().expect("id");
    let path = format!("/api/products/{id}/");
    let patch = |options: Value| app.patch(&path, Some(&staff), json!({"options": options}));
    let (status, _) = patch(json!([{"name": "Size", "values": ["S", "M"]},
                                   {"name": "Colour", "values": ["Red", "Blue"]}]))
    .await;
    assert_eq!(status, 409, "L is used");
    // A value added, the options reordered, a third option added: every variant follows.
    let (status, body) = patch(
        json!([{"name": "Colour", "values": ["Blue", "Red", "Green"]},
                                     {"name": "Size", "values": ["S", "M", "L"]},
                                     {"name": "Fit", "values": ["Regular", "Slim"]}]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["variants"][0]["options"],
        json!({"Colour": "Blue", "Size": "S", "Fit": "Regular"})
    );
    let (status, body) = app
        .post(
            &format!("/api/products/{id}/variants/"),
            Some(&staff),
            json!({"sku": "TEE-SLIM", "price": "25.00",
                   "options": {"Colour": "Green", "Size": "M", "Fit": "Slim"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_variant_ever_ordered_is_deactivated_not_deleted_and_the_last_one_stays() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let tee = tee(&app, &staff, 5).await;
    let id = tee["id"].as_i64().expect("id");
    let ordered = variant_of(&tee, "M", "Blue");
    add_to_cart(&app, &token, json!({"variant_id": ordered})).await;
    assert_eq!(
        place_order(&app, &token, json!({"shipping_address": address()}))
            .await
            .0,
        201
    );
    let path = |v: i64| format!("/api/products/{id}/variants/{v}/");
    assert_eq!(app.delete(&path(ordered), Some(&staff)).await.0, 204);
    let kept = variant::Entity::find_by_id(ordered)
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("kept: it was ordered");
    assert!(!kept.is_active);
    let never = variant_of(&tee, "S", "Red");
    assert_eq!(app.delete(&path(never), Some(&staff)).await.0, 204);
    let gone = variant::Entity::find_by_id(never)
        .one(&app.state.db)
        .await
        .expect("read");
    assert!(gone.is_none());
    // A single-variant product's only variant cannot go.
    let single = product(&app, &staff, "Mug", "8.00", 2).await;
    let only = crate::fixtures::only_variant(&app, single).await;
    let (status, _) = app
        .delete(
            &format!("/api/products/{single}/variants/{only}/"),
            Some(&staff),
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn cart_lines_and_order_items_are_per_variant() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    let tee = tee(&app, &staff, 5).await;
    let id = tee["id"].as_i64().expect("id");
    let (status, body) = add_to_cart(&app, &token, json!({"product_id": id})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"variant_id": ["Choose one of this product's variants."]})
    );
    let (large, small) = (variant_of(&tee, "L", "Red"), variant_of(&tee, "S", "Blue"));
    add_to_cart(&app, &token, json!({"variant_id": large, "quantity": 2})).await;
    add_to_cart(&app, &token, json!({"variant_id": small})).await;
    let (status, body) =
        add_to_cart(&app, &token, json!({"variant_id": large, "quantity": 4})).await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"quantity": ["Only 5 left in stock."]}));
    let (status, _) = add_to_cart(&app, &token, json!({"variant_id": 999_999})).await;
    assert_eq!(status, 400);
    let shown = cart(&app, &token).await;
    assert_eq!(shown["items"].as_array().map(Vec::len), Some(2), "{shown}");
    assert_eq!(
        shown["items"][0]["variant"],
        json!({"id": large, "sku": "TEE-Red-L", "options": {"Size": "L", "Colour": "Red"}})
    );
    assert_eq!(
        (&shown["items"][0]["unit_price"], &shown["subtotal"]),
        (&json!("20.00"), &json!("58.00"))
    );
    let (status, _) = app
        .patch(
            "/api/cart/update/",
            Some(&token),
            json!({"variant_id": small, "quantity": 3}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = place_order(&app, &token, json!({"shipping_address": address()})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["items"][1],
        json!({"product_id": id, "product_name": "Tee", "variant_id": small, "sku": "TEE-Blue-S",
               "variant_options": {"Size": "S", "Colour": "Blue"}, "price_snapshot": "18.00",
               "quantity": 3, "subtotal": "54.00", "tax_rate": "0.00", "tax_amount": "0.00"})
    );
    let (_, after) = app.get(&format!("/api/products/{id}/")).await;
    assert_eq!(
        after["stock"],
        30 - 5,
        "the product's stock is the variants' sum"
    );
    let order_id = body["id"].as_str().expect("id").to_owned();
    // Cancelling gives the units back to their variants, with a movement each.
    let (status, _) = app
        .post_empty(&format!("/api/orders/{order_id}/cancel/"), Some(&token))
        .await;
    assert_eq!(status, 200);
    let (_, large_moves) = app
        .get_as(
            &format!("/api/variants/{large}/stock/movements/"),
            Some(&staff),
        )
        .await;
    let deltas: Vec<i64> = large_moves["results"]
        .as_array()
        .expect("movements")
        .iter()
        .filter_map(|m| m["delta"].as_i64())
        .collect();
    assert_eq!(deltas, [2, -2, 5], "{large_moves}");
    let (_, after) = app.get(&format!("/api/products/{id}/")).await;
    assert_eq!(after["stock"], 30);
}

#[tokio::test]
async fn staff_move_one_variants_stock_and_retries_apply_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let tee = tee(&app, &staff, 2).await;
    let blue = variant_of(&tee, "M", "Blue");
    let adjust = || {
        app.request(
            Method::POST,
            &format!("/api/variants/{blue}/stock/"),
            Some(&staff),
        )
        .header("Idempotency-Key", "count-1")
        .json(&json!({"delta": 3, "reason": "found a box"}))
        .send()
    };
    for _ in 0..2 {
        let response = adjust().await.expect("sent");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["stock"], 5, "{body}");
    }
    let (status, body) = app
        .post(
            &format!("/api/variants/{blue}/stock/"),
            Some(&staff),
            json!({"set": 1, "expected": 4}),
        )
        .await;
    assert_eq!((status, &body["stock"]), (409, &json!(5)));
    let (_, product) = app.get(&format!("/api/products/{}/", tee["id"])).await;
    assert_eq!(product["stock"], 2 * 5 + 5);
    assert_eq!(
        app.get_as("/api/variants/999999/stock/movements/", Some(&staff))
            .await
            .0,
        404
    );
}

/// Buyers of one unit each of one of `variants`.
async fn buyers(app: &TestApp, variants: &[i64], n: usize) -> Vec<String> {
    let lines: Vec<Value> = variants
        .iter()
        .map(|id| json!({"variant_id": id}))
        .collect();
    crate::fixtures::buyers(app, &lines, n).await
}

async fn race(apps: &[&TestApp], tokens: &[String]) -> Vec<Answer> {
    burst(tokens.len(), |i| {
        apps[i % apps.len()]
            .request(Method::POST, "/api/orders/create/", Some(&tokens[i]))
            .json(&json!({"shipping_address": address()}))
    })
    .await
}

/// 20 buyers of the scarce variant (5 units) and 10 of a plentiful one of the same product.
async fn assert_per_variant_race(apps: &[&TestApp]) {
    let app = apps[0];
    let staff = app.staff_token().await;
    let tee = tee(app, &staff, 100).await;
    let scarce = variant_of(&tee, "S", "Red");
    let plenty = variant_of(&tee, "M", "Red");
    let (status, _) = app
        .post(
            &format!("/api/variants/{scarce}/stock/"),
            Some(&staff),
            json!({"set": 5, "expected": 100}),
        )
        .await;
    assert_eq!(status, 200);
    let mut tokens = buyers(app, &[scarce], 20).await;
    tokens.extend(buyers(app, &[plenty], 10).await);
    let answers = race(apps, &tokens).await;
    assert!(answers.iter().all(|a| a.status < 500), "{answers:?}");
    assert_eq!(
        (count(&answers, 201), count(&answers, 409)),
        (15, 15),
        "5 of the scarce and all 10 of the plentiful: {answers:?}"
    );
    for (id, initial, sold) in [(scarce, 5, 5), (plenty, 100, 10)] {
        let row = variant::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .expect("read")
            .expect("variant");
        assert_eq!(row.stock, initial - sold);
        let moved: i64 = stock_movement::Entity::find()
            .filter(stock_movement::Column::VariantId.eq(id))
            .all(&app.state.db)
            .await
            .expect("movements")
            .iter()
            .map(|m| m.delta)
            .sum();
        assert_eq!(moved, row.stock, "the movements add up to the stock");
    }
    let (_, product) = app.get(&format!("/api/products/{}/", tee["id"])).await;
    assert_eq!(product["stock"], 6 * 100 - 100 + 5 - 15);
}

#[tokio::test]
async fn twenty_buyers_racing_for_five_units_of_one_variant_make_five_orders() {
    let app = spawn_app().await;
    assert_per_variant_race(&[&app]).await;
}

#[tokio::test]
async fn two_instances_never_oversell_a_variant_either() {
    let first = spawn_app().await;
    let second = spawn(Spawn {
        database: Some(TestDatabase::shared(first.db_url())),
        ..Spawn::default()
    })
    .await;
    assert_per_variant_race(&[&first, &second]).await;
}

#[tokio::test]
async fn a_variant_going_low_alerts_staff_naming_it_and_not_its_siblings() {
    use emporium::jobs::Job;
    use emporium::orders::alerts::StockAlert;
    let app = spawn(Spawn {
        no_worker: true,
        settings: vec![("EMPORIUM_LOW_STOCK_THRESHOLD", "2".to_owned())],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let token = app.customer_token().await;
    // Another product first, so that variant ids and product ids differ.
    product(&app, &staff, "Mug", "8.00", 50).await;
    let tee = tee(&app, &staff, 4).await;
    let (low, fine) = (variant_of(&tee, "M", "Blue"), variant_of(&tee, "L", "Red"));
    add_to_cart(&app, &token, json!({"variant_id": low, "quantity": 3})).await;
    add_to_cart(&app, &token, json!({"variant_id": fine, "quantity": 1})).await;
    assert_eq!(
        place_order(&app, &token, json!({"shipping_address": address()}))
            .await
            .0,
        201
    );
    let queued = emporium::jobs::job::Entity::find()
        .filter(emporium::jobs::job::Column::Kind.eq(<StockAlert as Job>::KIND))
        .all(&app.state.db)
        .await
        .expect("jobs");
    assert_eq!(queued.len(), 1);
    let payload: Value = serde_json::from_str(&queued[0].payload).expect("payload");
    assert_eq!(payload["variant_ids"], json!([low]));
    let ctx = emporium::jobs::JobContext {
        state: app.state.clone(),
        job_id: 0,
        attempt: 1,
    };
    crate::helpers::run_job::<StockAlert>(ctx, payload)
        .await
        .expect("the alert");
    let emails = emporium::jobs::job::Entity::find()
        .filter(
            emporium::jobs::job::Column::Kind.eq(<emporium::email::job::SendEmail as Job>::KIND),
        )
        .all(&app.state.db)
        .await
        .expect("emails");
    let text: Value = serde_json::from_str(&emails[0].payload).expect("email");
    let text = text["text"].as_str().expect("text");
    assert!(
        text.contains("Tee, Size M, Colour Blue (SKU TEE-Blue-M") && text.contains("1 left"),
        "{text}"
    );
    assert!(!text.contains("TEE-Red-L"), "{text}");
}

#[tokio::test]
async fn parallel_creations_of_one_sku_or_one_combination_make_one_variant() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Socks", None).await;
    let sock = new_product(
        &app,
        &staff,
        json!({"name": "Sock", "category": category,
               "options": [{"name": "Size", "values": ["XS", "S", "M", "L", "XL", "XXL", "3XL"]}]}),
    )
    .await;
    let path = format!("/api/products/{}/variants/", sock["id"]);
    let sizes = ["XS", "S", "L", "XL", "XXL", "3XL"];
    // One SKU, six combinations: one variant, the others told the SKU is taken.
    let answers = burst(6, |i| {
        app.request(Method::POST, &path, Some(&staff)).json(&json!({
            "sku": if i % 2 == 0 { "SOCK-1" } else { "sock-1" },
            "price": "3.00", "options": {"Size": sizes[i]},
        }))
    })
    .await;
    assert_eq!(
        (count(&answers, 201), count(&answers, 400)),
        (1, 5),
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .filter(|a| a.status == 400)
            .all(|a| a.body["sku"].is_array())
    );
    // One combination, six SKUs: one variant, the others a 409.
    let answers = burst(6, |i| {
        app.request(Method::POST, &path, Some(&staff)).json(&json!({
            "sku": format!("SOCK-M-{i}"), "price": "3.00", "options": {"Size": "M"},
        }))
    })
    .await;
    assert_eq!(
        (count(&answers, 201), count(&answers, 409)),
        (1, 5),
        "{answers:?}"
    );
    let stored = variant::Entity::find()
        .filter(variant::Column::ProductId.eq(sock["id"].as_i64().expect("id")))
        .all(&app.state.db)
        .await
        .expect("variants");
    let mut seen: Vec<String> = stored.iter().map(|v| v.option1.clone()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), stored.len(), "one variant per combination");
    assert_eq!(stored.iter().filter(|v| v.sku_key == "sock-1").count(), 1);
}
