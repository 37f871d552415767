//! The product list's variant filters (`option`, `sku`, prices and stock over variants), search
//! by SKU and the options facet, against a catalog whose answers are worked out by hand; and
//! the cache per variant.

use serde_json::{Value, json};

use crate::fixtures::{new_category, new_product, product};
use crate::helpers::{TestApp, spawn_app};
use crate::variants::{tee, variant_of};

/// The catalog:
/// - Tee: Size S/M/L × Colour Red/Blue, S and M 18.00, L 20.00, 3 each — but Red L 0;
/// - Shoe: Size 40 (50.00, 2 left), 41 (55.00, none); 42 has no variant;
/// - Hat: Colour Red (12.00, 1 left), Green (15.00, 4 left);
/// - Mug: no options, 8.00, 5 left.
async fn catalog(app: &TestApp, staff: &str) -> (i64, i64, i64, i64) {
    let tee = tee(app, staff, 3).await;
    let red_l = variant_of(&tee, "L", "Red");
    let (status, _) = app
        .post(
            &format!("/api/variants/{red_l}/stock/"),
            Some(staff),
            json!({"set": 0, "expected": 3}),
        )
        .await;
    assert_eq!(status, 200);
    let shoes = new_category(app, staff, "Shoes", None).await;
    let shoe = new_product(
        app,
        staff,
        json!({"name": "Shoe", "category": shoes,
               "options": [{"name": "Size", "values": ["40", "41", "42"]}],
               "variants": [
                   {"sku": "SHOE-40", "price": "50.00", "stock": 2, "options": {"Size": "40"}},
                   {"sku": "SHOE-41", "price": "55.00", "stock": 0, "options": {"Size": "41"}}]}),
    )
    .await;
    let hats = new_category(app, staff, "Hats", None).await;
    let hat = new_product(
        app,
        staff,
        json!({"name": "Hat", "category": hats,
               "options": [{"name": "Colour", "values": ["Red", "Green"]}],
               "variants": [
                   {"sku": "HAT-R", "price": "12.00", "stock": 1, "options": {"Colour": "Red"}},
                   {"sku": "HAT-G", "price": "15.00", "stock": 4, "options": {"Colour": "Green"}}]}),
    )
    .await;
    let mug = product(app, staff, "Mug", "8.00", 5).await;
    let id = |p: &Value| p["id"].as_i64().expect("id");
    (id(&tee), id(&shoe), id(&hat), mug)
}

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let (status, page) = app
        .get(&format!("/api/products/?ordering=price&{query}"))
        .await;
    assert_eq!(status, 200, "{query}: {page}");
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn option_sku_price_and_stock_filters_look_at_active_variants() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    catalog(&app, &staff).await;
    for (query, expected) in [
        ("", vec!["Mug", "Hat", "Tee", "Shoe"]),
        ("option=Size:M", vec!["Tee"]),
        ("option=size:m", vec!["Tee"]),
        ("option=Colour:Red", vec!["Hat", "Tee"]),
        ("option=Colour:Red&option=Size:L", vec!["Tee"]),
        ("option=Colour:Red&option=Size:L&in_stock=true", vec![]),
        ("option=Size:42", vec![]),
        ("option=Size:XL", vec![]),
        ("sku=shoe-40", vec!["Shoe"]),
        ("min_price=19&max_price=21", vec!["Tee"]),
        ("min_price=52", vec!["Shoe"]),
        ("min_price=52&in_stock=true", vec![]),
        ("max_price=12", vec!["Mug", "Hat"]),
        ("in_stock=true&option=Size:41", vec![]),
        ("search=TEE-BLUE-M", vec!["Tee"]),
        ("search=tee-blue-m", vec!["Tee"]),
    ] {
        assert_eq!(names(&app, query).await, expected, "{query}");
    }
    for bad in ["option=Size", "option=:M", "sku=no%20spaces"] {
        let (status, body) = app.get(&format!("/api/products/?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn the_options_facet_counts_products_as_the_option_filter_would_list_them() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    catalog(&app, &staff).await;
    let facets = |query: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app.get(&format!("/api/products/facets/?{query}")).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let values = |pairs: &[(&str, u64)]| -> Value {
        pairs
            .iter()
            .map(|(value, count)| json!({"value": value, "count": count}))
            .collect()
    };
    let all = facets("").await;
    assert_eq!(all["count"], 4);
    assert_eq!(
        all["options"],
        json!([
            {"name": "Size", "values": values(&[("40", 1), ("41", 1), ("L", 1), ("M", 1), ("S", 1)])},
            {"name": "Colour", "values": values(&[("Red", 2), ("Blue", 1), ("Green", 1)])},
        ])
    );
    // In stock: Red L and Shoe 41 drop out; 4 products per option, so by name.
    let in_stock = facets("in_stock=true").await;
    assert_eq!(
        in_stock["options"],
        json!([
            {"name": "Colour", "values": values(&[("Red", 2), ("Blue", 1), ("Green", 1)])},
            {"name": "Size", "values": values(&[("40", 1), ("L", 1), ("M", 1), ("S", 1)])},
        ])
    );
    let red = facets("option=Colour:Red").await;
    assert_eq!(red["count"], 2);
    assert_eq!(
        red["options"],
        json!([
            {"name": "Size", "values": values(&[("L", 1), ("M", 1), ("S", 1)])},
            {"name": "Colour", "values": values(&[("Red", 2)])},
        ])
    );
    // Every count is what the list with that option added shows.
    for (name, value, expected) in [
        ("Size", "40", 1),
        ("Colour", "Red", 2),
        ("Colour", "Blue", 1),
    ] {
        let (_, page) = app
            .get(&format!("/api/products/?option={name}:{value}"))
            .await;
        assert_eq!(page["count"], expected, "{name}:{value}");
    }
}

async fn cache_state(app: &TestApp, path: &str) -> (String, Value) {
    let response = app.get_response(path).await;
    let cache = response.headers()["x-cache"]
        .to_str()
        .expect("header")
        .to_owned();
    (cache, response.json().await.expect("json"))
}

#[tokio::test]
async fn a_stock_change_of_one_variant_leaves_every_other_products_entries_hits() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (tee, _, hat, mug) = catalog(&app, &staff).await;
    let others = [
        format!("/api/products/{mug}/"),
        format!("/api/products/{hat}/"),
        format!("/api/products/{hat}/variants/"),
        "/api/products/?option=Colour:Green".to_owned(),
    ];
    let tee_detail = format!("/api/products/{tee}/");
    for path in others.iter().chain([&tee_detail]) {
        cache_state(&app, path).await;
        assert_eq!(cache_state(&app, path).await.0, "hit", "{path}");
    }
    let (_, before) = cache_state(&app, &tee_detail).await;
    let red_s = before["variants"][0]["id"].as_i64().expect("id");
    let (status, _) = app
        .post(
            &format!("/api/variants/{red_s}/stock/"),
            Some(&staff),
            json!({"delta": -1}),
        )
        .await;
    assert_eq!(status, 200);
    for path in &others {
        assert_eq!(
            cache_state(&app, path).await.0,
            "hit",
            "{path} stays cached"
        );
    }
    let (cache, after) = cache_state(&app, &tee_detail).await;
    assert_eq!(cache, "miss");
    assert_eq!(
        (&after["stock"], &after["variants"][0]["stock"]),
        (&json!(before["stock"].as_i64().expect("n") - 1), &json!(2))
    );
}
