//! The catalog over HTTP: categories, products, filters, images, permissions, the cache and
//! the query count.

use std::sync::atomic::Ordering;

use emporium::accounts::service::create_superuser;
use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{new_category, new_product};
use crate::helpers::{Engine, PASSWORD, Spawn, TestApp, engine, json, service, spawn, spawn_app};
use crate::media::PNG;

pub(crate) fn names(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn anonymous_users_and_customers_cannot_change_the_catalog() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    let product = new_product(
        &app,
        &staff,
        json!({"name": "Boot", "price": "10.00", "category": category}),
    )
    .await;
    let product_path = format!("/api/products/{}/", product["id"]);
    let category_path = format!("/api/categories/{category}/");
    let writes = [
        (Method::POST, "/api/categories/".to_owned()),
        (Method::PATCH, category_path.clone()),
        (Method::DELETE, category_path),
        (Method::POST, "/api/products/".to_owned()),
        (Method::PATCH, product_path.clone()),
        (Method::DELETE, product_path),
        (
            Method::POST,
            format!("/api/products/{}/images/", product["id"]),
        ),
    ];
    for (method, path) in writes {
        let (status, body) = app
            .call(method.clone(), &path, None, Some(json!({"name": "x"})))
            .await;
        assert_eq!(status, 401, "anonymous {method} {path}");
        assert_eq!(
            body,
            json!({"detail": "Authentication credentials were not provided."})
        );
        let (status, body) = app
            .call(
                method.clone(),
                &path,
                Some(&customer),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(status, 403, "customer {method} {path}");
        assert_eq!(
            body,
            json!({"detail": "You do not have permission to perform this action."})
        );
    }
    let (_, fetched) = app.get(&format!("/api/products/{}/", product["id"])).await;
    assert_eq!(fetched["name"], "Boot", "nothing changed");
}

#[tokio::test]
async fn categories_get_unique_slugs_and_form_a_tree_without_cycles() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let (status, shoes) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "Running Shoes", "description": "Fast."}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        shoes,
        json!({"id": shoes["id"], "name": "Running Shoes", "slug": "running-shoes", "parent": null, "description": "Fast."})
    );
    let (_, again) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "Running shoes!"}),
        )
        .await;
    assert_eq!(again["slug"], "running-shoes-2");
    let (status, body) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "X", "slug": "running-shoes"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"slug": ["category with this slug already exists."]})
        )
    );
    let (status, body) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "X", "slug": "Not A Slug"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["slug"].is_array());
    let (status, body) = app
        .post(
            "/api/categories/",
            Some(&staff),
            json!({"name": "X", "parent": 999_999}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"parent": ["Invalid pk \"999999\" - object does not exist."]})
        )
    );

    let top = shoes["id"].as_i64().expect("id");
    let middle = new_category(&app, &staff, "Trail", Some(top)).await;
    let bottom = new_category(&app, &staff, "Ultra", Some(middle)).await;
    for parent in [top, bottom] {
        let (status, body) = app
            .patch(
                &format!("/api/categories/{top}/"),
                Some(&staff),
                json!({"parent": parent}),
            )
            .await;
        assert_eq!(status, 400, "parent {parent}");
        assert!(body["parent"].is_array());
    }
    let (status, moved) = app
        .patch(
            &format!("/api/categories/{bottom}/"),
            Some(&staff),
            json!({"parent": null, "slug": "ultra-running"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&moved["parent"], &moved["slug"]),
        (&json!(null), &json!("ultra-running"))
    );
    let (status, page) = app.get("/api/categories/").await;
    assert_eq!((status, &page["count"]), (200, &json!(4)));
    let (status, one) = app.get(&format!("/api/categories/{middle}/")).await;
    assert_eq!((status, &one["parent"]), (200, &json!(top)));
    assert_eq!(app.get("/api/categories/424242/").await.0, 404);
}

#[tokio::test]
async fn a_category_with_products_or_children_cannot_be_deleted() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let parent = new_category(&app, &staff, "Clothing", None).await;
    let child = new_category(&app, &staff, "Hats", Some(parent)).await;
    let product = new_product(
        &app,
        &staff,
        json!({"name": "Cap", "price": "9.00", "category": child}),
    )
    .await;

    let (status, body) = app
        .delete(&format!("/api/categories/{parent}/"), Some(&staff))
        .await;
    assert_eq!(status, 409);
    assert!(body["detail"].is_string());
    assert_eq!(
        app.delete(&format!("/api/categories/{child}/"), Some(&staff))
            .await
            .0,
        409
    );
    assert_eq!(
        app.delete(&format!("/api/products/{}/", product["id"]), Some(&staff))
            .await
            .0,
        204
    );
    assert_eq!(
        app.delete(&format!("/api/categories/{child}/"), Some(&staff))
            .await
            .0,
        204
    );
    assert_eq!(
        app.delete(&format!("/api/categories/{parent}/"), Some(&staff))
            .await
            .0,
        204
    );
    assert_eq!(app.get(&format!("/api/categories/{parent}/")).await.0, 404);
}

#[tokio::test]
async fn a_product_has_exactly_the_contract_shape() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    let product = new_product(&app, &staff, json!({
        "name": "Trail Runner", "description": "Grippy.", "price": "89.9", "stock": 4, "category": category,
        "slug": "ignored", "id": 77, "average_rating": "5.00", "created_at": "2000-01-01T00:00:00Z",
    })).await;
    let keys: Vec<&String> = product.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "average_rating",
            "category",
            "created_at",
            "currency",
            "description",
            "id",
            "images",
            "in_stock",
            "is_active",
            "name",
            "options",
            "price",
            "review_count",
            "slug",
            "stock",
            "tax_class",
            "updated_at",
            "variants",
        ]
    );
    assert_eq!(product["tax_class"], "standard");
    assert_eq!(product["price"], "89.90");
    assert_eq!(product["currency"], "USD");
    assert_eq!(product["slug"], "trail-runner");
    assert_ne!(product["id"], 77);
    assert_eq!(
        (
            &product["stock"],
            &product["in_stock"],
            &product["is_active"]
        ),
        (&json!(4), &json!(true), &json!(true))
    );
    assert_eq!(
        product["category"],
        json!({"id": category, "name": "Shoes", "slug": "shoes"})
    );
    assert_eq!(
        (
            &product["images"],
            &product["average_rating"],
            &product["review_count"]
        ),
        (&json!([]), &json!(null), &json!(0))
    );
    assert!(product["created_at"].as_str().expect("time").ends_with('Z'));
    assert!(
        !product["created_at"]
            .as_str()
            .expect("time")
            .starts_with("2000")
    );

    let path = format!("/api/products/{}/", product["id"]);
    let (status, patched) = app
        .patch(&path, Some(&staff), json!({"price": "79", "stock": 0}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&patched["price"], &patched["in_stock"], &patched["name"]),
        (&json!("79.00"), &json!(false), &json!("Trail Runner"))
    );
}

#[tokio::test]
async fn product_fields_are_validated_and_nothing_is_stored_on_error() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    let cases = [
        (
            json!({"name": "A", "price": "-1.00", "category": category}),
            "price",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            json!({"name": "A", "price": "1.999", "category": category}),
            "price",
            "Ensure that there are no more than 2 decimal places.",
        ),
        (
            json!({"name": "A", "price": 19.99, "category": category}),
            "price",
            "A valid number is required.",
        ),
        (
            json!({"name": "A", "price": "abc", "category": category}),
            "price",
            "A valid number is required.",
        ),
        (
            json!({"name": "A", "price": "1.00", "stock": -1, "category": category}),
            "stock",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            json!({"name": "A", "price": "1.00", "stock": "many", "category": category}),
            "stock",
            "A valid integer is required.",
        ),
        (
            json!({"name": "A", "price": "1.00", "category": 999_999}),
            "category",
            "Invalid pk \"999999\" - object does not exist.",
        ),
        (
            json!({"price": "1.00", "category": category}),
            "name",
            "This field is required.",
        ),
        (
            json!({"name": "A", "category": category}),
            "price",
            "This field is required.",
        ),
    ];
    for (body, field, message) in cases {
        let (status, errors) = app.post("/api/products/", Some(&staff), body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(errors[field], json!([message]), "{body}: {errors}");
    }
    let (_, page) = app.get_as("/api/products/", Some(&staff)).await;
    assert_eq!(page["count"], 0);
}

#[tokio::test]
async fn inactive_products_are_hidden_from_everybody_but_staff() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    let hidden = new_product(
        &app,
        &staff,
        json!({"name": "Hidden", "price": "1.00", "category": category, "is_active": false}),
    )
    .await;
    new_product(
        &app,
        &staff,
        json!({"name": "Shown", "price": "1.00", "category": category}),
    )
    .await;
    let path = format!("/api/products/{}/", hidden["id"]);
    for who in [None, Some(customer.as_str())] {
        let (_, page) = app.get_as("/api/products/", who).await;
        assert_eq!(names(&page), ["Shown"]);
        assert_eq!(app.get_as(&path, who).await.0, 404);
    }
    let (_, page) = app.get_as("/api/products/", Some(&staff)).await;
    assert_eq!(page["count"], 2);
    assert_eq!(app.get_as(&path, Some(&staff)).await.0, 200);
}

#[tokio::test]
async fn the_list_filters_searches_and_orders() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let clothing = new_category(&app, &staff, "Clothing", None).await;
    let shoes = new_category(&app, &staff, "Shoes", Some(clothing)).await;
    let trail = new_category(&app, &staff, "Trail", Some(shoes)).await;
    let kitchen = new_category(&app, &staff, "Kitchen", None).await;
    for (name, description, price, stock, category) in [
        ("Red Trail Shoe", "Grippy sole", "80.00", 5, trail),
        ("Blue Road Shoe", "Light and red-trimmed", "60.00", 0, shoes),
        ("Wool Hat", "Warm", "20.00", 3, clothing),
        ("Skillet", "Cast iron, 100% seasoned", "35.50", 2, kitchen),
        ("Knife_Set", "Sharp", "45.00", 1, kitchen),
    ] {
        new_product(&app, &staff, json!({"name": name, "description": description, "price": price, "stock": stock, "category": category})).await;
    }
    let list = |query: &str| {
        let path = format!("/api/products/?{query}");
        let app = &app;
        async move { app.get(&path).await }
    };
    let (_, page) = list(&format!("category={clothing}&ordering=name")).await;
    assert_eq!(
        names(&page),
        ["Blue Road Shoe", "Red Trail Shoe", "Wool Hat"],
        "sub-categories at any depth"
    );
    let (_, page) = list(&format!("category={trail}")).await;
    assert_eq!(names(&page), ["Red Trail Shoe"]);
    let (_, page) = list("search=RED&ordering=name").await;
    assert_eq!(
        names(&page),
        ["Blue Road Shoe", "Red Trail Shoe"],
        "name or description, any case"
    );
    let (_, page) = list("search=red+grippy").await;
    assert_eq!(
        names(&page),
        ["Red Trail Shoe", "Blue Road Shoe"],
        "both words above one (more in tests/api/search.rs)"
    );
    let (_, page) = list("search=100%25").await;
    assert_eq!(names(&page), ["Skillet"], "words are letters and digits");
    let (_, page) = list("search=_").await;
    assert_eq!(page["count"], 0, "punctuation alone finds nothing");
    let (_, page) = list("min_price=35.50&max_price=60&ordering=price").await;
    assert_eq!(names(&page), ["Skillet", "Knife_Set", "Blue Road Shoe"]);
    let (_, page) = list("in_stock=true&ordering=-price").await;
    assert_eq!(
        names(&page),
        ["Red Trail Shoe", "Knife_Set", "Skillet", "Wool Hat"]
    );
    let (_, page) = list("in_stock=false").await;
    assert_eq!(names(&page), ["Blue Road Shoe"]);
    let (_, page) = list("ordering=-name&page_size=2&page=2").await;
    assert_eq!(names(&page), ["Red Trail Shoe", "Knife_Set"]);
    assert_eq!(page["count"], 5);
    let (_, page) = list("").await;
    assert_eq!(names(&page)[0], "Knife_Set", "newest first by default");
    let (_, page) = list("ordering=created_at").await;
    assert_eq!(names(&page)[0], "Red Trail Shoe");

    for (query, field) in [
        ("ordering=stock", "ordering"),
        ("ordering=price;drop", "ordering"),
        ("min_price=cheap", "min_price"),
        ("max_price=1.234", "max_price"),
        ("in_stock=perhaps", "in_stock"),
        ("category=shoes", "category"),
        ("category=999999", "category"),
    ] {
        let (status, body) = list(query).await;
        assert_eq!(status, 400, "{query}");
        assert!(body[field].is_array(), "{query}: {body}");
    }
}

/// `multipart/form-data` with an `image` file and `is_primary`.
fn upload(bytes: &[u8], file_name: &str, is_primary: bool) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .part(
            "image",
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(file_name.to_owned())
                .mime_str("image/png")
                .expect("mime"),
        )
        .text("is_primary", if is_primary { "true" } else { "false" })
}

#[tokio::test]
async fn images_are_checked_by_content_stored_and_served() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    let product = new_product(
        &app,
        &staff,
        json!({"name": "Boot", "price": "10.00", "category": category}),
    )
    .await;
    let images_path = app.url(&format!("/api/products/{}/images/", product["id"]));
    let post = |form: reqwest::multipart::Form| {
        app.client
            .post(&images_path)
            .bearer_auth(&staff)
            .multipart(form)
            .send()
    };

    let (status, first) = json(post(upload(PNG, "boot.png", true)).await.expect("sent")).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["is_primary"], true);
    let url = first["image"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&app.address) && url.ends_with(".png") && !url.contains("boot"),
        "{url}"
    );
    let served = app.client.get(&url).send().await.expect("sent");
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.expect("bytes").as_ref(), PNG);

    let (status, body) = json(
        post(upload(b"<?php system($_GET['c']); ?>", "shell.png", false))
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["image"],
        json!([
            "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
        ])
    );
    let mut huge = PNG.to_vec();
    huge.resize(6 * 1024 * 1024, 0);
    let response = post(upload(&huge, "huge.png", false)).await.expect("sent");
    assert_eq!(response.status(), 413);

    let (status, second) = json(post(upload(PNG, "side.png", true)).await.expect("sent")).await;
    assert_eq!((status, &second["is_primary"]), (201, &json!(true)));
    let (_, detail) = app.get(&format!("/api/products/{}/", product["id"])).await;
    let images = detail["images"].as_array().expect("images");
    assert_eq!(images.len(), 2);
    assert_eq!(
        images[0]["id"], second["id"],
        "the primary image comes first"
    );
    assert_eq!(
        images.iter().filter(|i| i["is_primary"] == true).count(),
        1,
        "one primary image"
    );

    let delete_path = format!("/api/products/{}/images/{}/", product["id"], first["id"]);
    assert_eq!(app.delete(&delete_path, Some(&staff)).await.0, 204);
    assert_eq!(
        app.client.get(&url).send().await.expect("sent").status(),
        404,
        "the file is gone too"
    );
    assert_eq!(app.delete(&delete_path, Some(&staff)).await.0, 404);
}

async fn queries_for(app: &TestApp, path: &str, token: Option<&str>) -> (u64, reqwest::Response) {
    let before = app.state.queries.load(Ordering::SeqCst);
    let mut request = app.request(Method::GET, path, None);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    (app.state.queries.load(Ordering::SeqCst) - before, response)
}

#[tokio::test]
async fn a_list_page_costs_the_same_queries_whatever_its_size() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    for n in 0..25 {
        let product = new_product(
            &app,
            &staff,
            json!({"name": format!("Shoe {n}"), "price": "10.00", "category": category}),
        )
        .await;
        let form = upload(PNG, "shoe.png", true);
        let response = app
            .request(
                Method::POST,
                &format!("/api/products/{}/images/", product["id"]),
                Some(&staff),
            )
            .multipart(form)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 201);
    }
    // Uncached (distinct URLs), anonymous: version + count + page + images + variants.
    let (one, response) = queries_for(&app, "/api/products/?page_size=1", None).await;
    assert_eq!(response.headers()["x-cache"], "miss");
    let (twenty, response) = queries_for(&app, "/api/products/?page_size=20", None).await;
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["results"].as_array().map(Vec::len), Some(20));
    assert!(body["results"][19]["images"][0]["image"].is_string());
    assert_eq!(one, twenty, "the query count must not grow with the page");
    assert!(twenty <= 5, "{twenty} queries for a page");
    // Staff (never cached): the user, count, page, images, variants.
    let (staff_queries, _) = queries_for(&app, "/api/products/?page_size=20", Some(&staff)).await;
    assert!(staff_queries <= 5, "{staff_queries}");
}

#[tokio::test]
async fn a_cached_read_asks_the_database_nothing_and_a_write_shows_at_once() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    let product = new_product(
        &app,
        &staff,
        json!({"name": "Boot", "price": "10.00", "category": category}),
    )
    .await;
    let detail = format!("/api/products/{}/", product["id"]);
    for path in ["/api/products/", detail.as_str(), "/api/categories/"] {
        let (_, miss) = queries_for(&app, path, None).await;
        assert_eq!(miss.headers()["x-cache"], "miss", "{path}");
        let (queries, hit) = queries_for(&app, path, None).await;
        assert_eq!(hit.headers()["x-cache"], "hit", "{path}");
        assert_eq!(queries, 0, "{path}: a hit asks the database nothing");
    }
    let (status, _) = app
        .patch(&detail, Some(&staff), json!({"price": "12.50"}))
        .await;
    assert_eq!(status, 200);
    let (_, page) = app.get("/api/products/").await;
    assert_eq!(
        page["results"][0]["price"], "12.50",
        "no stale price after a write"
    );
    let (_, one) = app.get(&detail).await;
    assert_eq!(one["price"], "12.50");
    app.patch(
        &format!("/api/categories/{category}/"),
        Some(&staff),
        json!({"name": "Boots"}),
    )
    .await;
    let (_, categories) = app.get("/api/categories/").await;
    assert_eq!(categories["results"][0]["name"], "Boots");
    let (_, one) = app.get(&detail).await;
    assert_eq!(
        one["category"]["name"], "Boots",
        "a category write reaches product pages"
    );
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_a_hit_asks_the_database_nothing_and_every_node_sees_a_write() {
    let redis = service("EMPORIUM_TEST_REDIS");
    let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
    let settings = vec![("REDIS_URL", redis), ("EMPORIUM_REDIS_PREFIX", prefix)];
    let a = spawn(Spawn {
        settings: settings.clone(),
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    // Node B shares node A's database and Redis.
    let shared = crate::helpers::TestDatabase::shared(a.db_url());
    let b = spawn(Spawn {
        settings,
        no_worker: true,
        database: Some(shared),
        ..Spawn::default()
    })
    .await;
    create_superuser(
        &a.state.db,
        &a.state.hash_gate,
        "boss@shop.example",
        PASSWORD,
    )
    .await
    .expect("staff");
    let staff = a.access_token("boss@shop.example", PASSWORD).await;
    let category = new_category(&a, &staff, "Shoes", None).await;
    let product = new_product(
        &a,
        &staff,
        json!({"name": "Boot", "price": "10.00", "category": category}),
    )
    .await;
    let detail = format!("/api/products/{}/", product["id"]);
    let (_, miss) = queries_for(&a, &detail, None).await;
    assert_eq!(miss.headers()["x-cache"], "miss");
    let (queries, hit) = queries_for(&a, &detail, None).await;
    assert_eq!(
        (queries, hit.headers()["x-cache"].to_str().expect("ascii")),
        (0, "hit")
    );
    // A write through node B: node A's next read shows it.
    let staff_b = b.access_token("boss@shop.example", PASSWORD).await;
    let (status, _) = b
        .patch(&detail, Some(&staff_b), json!({"price": "11.00"}))
        .await;
    assert_eq!(status, 200);
    let (_, seen) = a.get(&detail).await;
    assert_eq!(seen["price"], "11.00");
}

/// Seeds a catalog big enough for a planner to care: 50 categories and 20,000 products, a few
/// out of stock, a few inactive; then refreshes the engine's statistics.
async fn seed_big_catalog(db: &sea_orm::DatabaseConnection) {
    use emporium::catalog::{category, product};
    use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
    let now = emporium::time::now();
    let categories: Vec<category::ActiveModel> = (1..=50)
        .map(|n| category::ActiveModel {
            name: Set(format!("C{n}")),
            slug: Set(format!("c-{n}")),
            description: Set(String::new()),
            parent_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .collect();
    category::Entity::insert_many(categories)
        .exec(db)
        .await
        .expect("categories");
    let first = category::Entity::find()
        .all(db)
        .await
        .expect("categories")
        .iter()
        .map(|c| c.id)
        .min()
        .expect("a category");
    for chunk in (1..=20_000_i64).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<product::ActiveModel> = chunk
            .iter()
            .map(|&n| product::ActiveModel {
                name: Set(format!("P{n}")),
                slug: Set(format!("p-{n}")),
                description: Set("d".to_owned()),
                price: Set((n * 7919) % 100_000),
                stock: Set(if n % 100 == 0 { 0 } else { n % 50 + 1 }),
                is_active: Set(n % 20 != 0),
                category_id: Set(first + n % 50),
                created_at: Set(now - chrono::TimeDelta::minutes(n)),
                updated_at: Set(now),
                active_variants: Set(1),
                ..Default::default()
            })
            .collect();
        product::Entity::insert_many(rows)
            .exec(db)
            .await
            .expect("products");
    }
    // Each its one variant, as the migration makes them: SKU `P<id>`, every tenth in size M.
    let (sku, key, truth) = match db.get_database_backend() {
        sea_orm::DbBackend::MySql => ("CONCAT('P', p.id)", "CONCAT('p', p.id)", "1"),
        sea_orm::DbBackend::Postgres => ("'P' || p.id", "'p' || p.id", "TRUE"),
        _ => ("'P' || p.id", "'p' || p.id", "1"),
    };
    db.execute_unprepared(&format!(
        "INSERT INTO product_variants (product_id, sku, sku_key, option1, option2, option3, \
         options, price, stock, is_active, created_at, updated_at) \
         SELECT p.id, {sku}, {key}, CASE WHEN p.id % 10 = 0 THEN 'size\u{1f}m' ELSE '' END, \
         '', '', '{{}}', p.price, p.stock, {truth}, p.created_at, p.updated_at FROM products p"
    ))
    .await
    .expect("variants");
    // The search index of those products, written in bulk: the name's word `p{n}`, and in
    // the description `d` (every product) and `w{n % 500}` (40 products each).
    let backend = db.get_database_backend();
    let first_product = product::Entity::find()
        .all(db)
        .await
        .expect("products")
        .iter()
        .map(|p| p.id)
        .min()
        .expect("a product");
    for chunk in (1..=20_000_i64).collect::<Vec<_>>().chunks(500) {
        let mut postings = emporium::db::sql::Sql::new(backend);
        postings.push(
            "INSERT INTO search_postings (word, product_id, weight, is_active, category_id) VALUES ",
        );
        let mut terms = emporium::db::sql::Sql::new(backend);
        terms.push("INSERT INTO search_terms (word, stem) VALUES ");
        for (i, n) in chunk.iter().enumerate() {
            let id = first_product + n - 1;
            if i > 0 {
                postings.push(", ");
                terms.push(", ");
            }
            let name = format!("p{n}");
            terms
                .push("(")
                .value(name.as_str())
                .push(", ")
                .value(name.as_str())
                .push(")");
            for (word, weight) in [
                (name, 2_i16),
                ("d".to_owned(), 1),
                (format!("w{}", n % 500), 1),
            ] {
                if word != format!("p{n}") {
                    postings.push(", ");
                }
                postings
                    .push("(")
                    .value(word)
                    .push(", ")
                    .value(id)
                    .push(", ")
                    .value(weight)
                    .push(", ")
                    .value(n % 20 != 0)
                    .push(", ")
                    .value(first + n % 50)
                    .push(")");
            }
        }
        db.execute_raw(postings.statement())
            .await
            .expect("postings");
        db.execute_raw(terms.statement()).await.expect("terms");
    }
    let mut terms = emporium::db::sql::Sql::new(backend);
    terms.push("INSERT INTO search_terms (word, stem) VALUES ('d', 'd')");
    for n in 0..500 {
        terms.push(&format!(", ('w{n}', 'w{n}')"));
    }
    db.execute_raw(terms.statement()).await.expect("terms");
    let analyze = match engine() {
        Engine::Postgres => "ANALYZE",
        Engine::MySql => "ANALYZE TABLE products, categories, search_postings, search_terms",
        Engine::Sqlite => "ANALYZE",
    };
    db.execute_unprepared(analyze).await.expect("analyze");
}

/// The engine's plan for `statement`, as one text.
async fn plan_of(db: &sea_orm::DatabaseConnection, statement: &sea_orm::Statement) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let prefix = match engine() {
        Engine::Sqlite => "EXPLAIN QUERY PLAN ",
        _ => "EXPLAIN ",
    };
    let explain = Statement {
        sql: format!("{prefix}{}", statement.sql),
        ..statement.clone()
    };
    let rows = db.query_all_raw(explain).await.expect("explain");
    rows.iter()
        .map(|row| match engine() {
            Engine::Postgres => row.try_get_by_index::<String>(0).unwrap_or_default(),
            Engine::Sqlite => row.try_get::<String>("", "detail").unwrap_or_default(),
            Engine::MySql => {
                let column = |name: &str| {
                    row.try_get::<Option<String>>("", name)
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                };
                format!(
                    "{} key={} ({})",
                    column("table"),
                    column("key"),
                    column("Extra")
                )
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Statements a connection sent, in order.
type Sent = std::sync::Arc<std::sync::Mutex<Vec<sea_orm::Statement>>>;

/// An application on a [`seed_big_catalog`], a connection to its database that records what it
/// sends, and one of its categories: tests call the same service functions the handlers call through it, so the
/// plan checked is the plan of the real query.
async fn big_catalog_recorded() -> (TestApp, sea_orm::DatabaseConnection, Sent, i64) {
    use sea_orm::EntityTrait;
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    seed_big_catalog(&app.state.db).await;
    let sent: Sent = Sent::default();
    let mut db = emporium::db::connect(app.db_url(), 2)
        .await
        .expect("connect");
    let recorder = sent.clone();
    db.set_metric_callback(move |info| {
        if let Ok(mut sent) = recorder.lock() {
            sent.push(info.statement.clone());
        }
    });
    let category = emporium::catalog::category::Entity::find()
        .one(&db)
        .await
        .expect("query")
        .expect("a category")
        .id;
    (app, db, sent, category)
}

/// The statement among those `sent` that `is_it` picks, and the engine's plan for it.
async fn sent_plan(
    app: &TestApp,
    sent: &Sent,
    what: &str,
    is_it: impl Fn(&str) -> bool,
) -> (String, String) {
    let statements = sent.lock().expect("lock").clone();
    let statement = statements
        .iter()
        .find(|s| is_it(&s.sql))
        .unwrap_or_else(|| panic!("{what}: no such query among {statements:?}"));
    (
        statement.sql.clone(),
        plan_of(&app.state.db, statement).await,
    )
}

#[tokio::test]
async fn the_queries_the_product_list_sends_use_the_indexes() {
    let (app, db, sent, category) = big_catalog_recorded().await;
    // Each list reads products through an index — the one for its order, or, for a selective
    // filter, either that filter's index or the order's (both avoid a scan and a sort of the
    // whole table; the planner picks by its statistics).
    let search = emporium::catalog::search::DatabaseSearch {
        language: emporium::text::Language::ENGLISH,
    };
    let by_category = format!("category={category}");
    let cases: [(&str, &[&str]); 7] = [
        // The staff lists' indexes (no `is_active` before the order) serve these as well.
        (
            "ordering=price",
            &["products_active_price", "idx_products_price"],
        ),
        (
            "ordering=name",
            &["products_active_name", "idx_products_name"],
        ),
        ("", &["products_active_created", "idx_products_created"]),
        (
            "in_stock=false",
            &[
                "products_stock",
                "products_active_created",
                "idx_products_created",
            ],
        ),
        (
            &by_category,
            &[
                "products_category_id",
                "products_active_created",
                "idx_products_created",
            ],
        ),
        // Through a variant: the SKU's unique index, or an option column's index (or, the
        // planner's choice for a common value, the order's index with the variants probed).
        (
            "sku=p5001",
            &[
                "uq_product_variants_sku",
                "sqlite_autoindex_product_variants",
            ],
        ),
        (
            "option=Size:M",
            &[
                "idx_product_variants_option1",
                "products_active_created",
                "idx_products_created",
            ],
        ),
    ];
    for (query, indexes) in cases {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
        let filter =
            emporium::catalog::products::parse_filter(&pairs, emporium::money::Currency::USD)
                .expect("filter");
        sent.lock().expect("lock").clear();
        emporium::catalog::products::list_products(&db, &search, &filter, false, 0, 20)
            .await
            .expect("list");
        let (sql, plan) = sent_plan(&app, &sent, query, |sql| {
            sql.contains("LIMIT") && sql.contains("products")
        })
        .await;
        assert!(
            indexes.iter().any(|index| plan.contains(index)),
            "?{query}: {sql}\n{plan}"
        );
        for full_scan in ["Seq Scan on products", "SCAN products\n", "products key=\n"] {
            assert!(!format!("{plan}\n").contains(full_scan), "?{query}: {plan}");
        }
    }
}

#[tokio::test]
async fn the_queries_search_sends_use_the_indexes() {
    use emporium::catalog::search::{DatabaseSearch, SearchBackend};
    let (app, db, sent, category) = big_catalog_recorded().await;
    let search = DatabaseSearch {
        language: emporium::text::Language::ENGLISH,
    };
    let filter = |query: &str| {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
        emporium::catalog::products::parse_filter(&pairs, emporium::money::Currency::USD)
            .expect("filter")
    };
    // The ranked page of a two-word search in a category, its facets, and a suggestion: each
    // reads the postings through an index (the words' keys, or the name words' prefix range)
    // and never scans the postings or the products.
    let ranked = filter(&format!("search=w7+w8&category={category}"));
    let facets = filter("search=w7+p12");
    let checks: [(&str, &str, &[&str]); 3] = [
        (
            "ranked page",
            "GROUP BY s.product_id",
            &[
                "idx_search_postings_cover",
                "search_postings_pkey",
                "PRIMARY KEY",
                "sqlite_autoindex_search_postings",
                "s key=PRIMARY",
            ],
        ),
        (
            "facets",
            "GROUP BY 1, 2, 3",
            &[
                "idx_search_postings_cover",
                "search_postings_pkey",
                "PRIMARY KEY",
                "sqlite_autoindex_search_postings",
                "s key=PRIMARY",
                "s key=idx_search_postings_cover",
            ],
        ),
        // MySQL walks the word range of the clustered primary key (which holds the weight).
        (
            "suggestion",
            "s.word >=",
            &["idx_search_postings_weight_word", "s key=PRIMARY"],
        ),
    ];
    for (what, marker, indexes) in checks {
        sent.lock().expect("lock").clear();
        match what {
            "ranked page" => {
                emporium::catalog::products::list_products(&db, &search, &ranked, false, 0, 20)
                    .await
                    .map(|_| ())
                    .expect("list");
            }
            "facets" => {
                emporium::catalog::products::product_facets(
                    &db,
                    &search,
                    &facets,
                    false,
                    emporium::money::Currency::USD,
                )
                .await
                .map(|_| ())
                .expect("facets");
            }
            _ => {
                search
                    .suggest(&db, &["p12".to_owned()])
                    .await
                    .map(|_| ())
                    .expect("suggest");
            }
        }
        let (sql, plan) = sent_plan(&app, &sent, what, |sql| sql.contains(marker)).await;
        assert!(
            indexes.iter().any(|index| plan.contains(index)),
            "{what}: {sql}\n{plan}"
        );
        for full_scan in [
            "Seq Scan on search_postings",
            "Seq Scan on products",
            "SCAN search_postings\n",
            "SCAN s\n",
            "SCAN p\n",
            "search_postings key=\n",
            "products key=\n",
        ] {
            assert!(!format!("{plan}\n").contains(full_scan), "{what}: {plan}");
        }
    }
}

#[tokio::test]
async fn demo_data_loads_once() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let added = emporium::catalog::demo::load(
        &app.state.db,
        &app.state.cache,
        emporium::text::Language::ENGLISH,
        emporium::catalog::products::shown::Showing::bare(emporium::money::Currency::USD),
    )
    .await
    .expect("loaded");
    assert!(added >= 5);
    assert_eq!(
        emporium::catalog::demo::load(
            &app.state.db,
            &app.state.cache,
            emporium::text::Language::ENGLISH,
            emporium::catalog::products::shown::Showing::bare(emporium::money::Currency::USD),
        )
        .await
        .expect("loaded"),
        0
    );
    let (_, page) = app.get("/api/products/").await;
    assert_eq!(page["count"], json!(added));
    assert!(
        page["results"][0]["price"]
            .as_str()
            .expect("price")
            .contains('.')
    );
}
