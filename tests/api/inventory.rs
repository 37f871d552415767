//! Inventory and the catalog cache over HTTP: staff stock adjustments and their movements, the
//! race on the last units, retries, stock changes that leave other products' cache alone,
//! never-stale reads when a write's invalidation fails, normalised keys and the byte bound.

use std::time::Duration;

use emporium::catalog::inventory::{self, Cause, StockLine};
use emporium::catalog::stock_movement;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::{Value, json};

use crate::fixtures::{self, new_category, new_product, product};
use crate::helpers::{
    Spawn, TestApp, TestDatabase, burst, count, service, shared_redis, spawn, spawn_app,
};

async fn stock_of(app: &TestApp, staff: &str, id: i64) -> i64 {
    let (status, body) = app
        .get_as(&format!("/api/products/{id}/"), Some(staff))
        .await;
    assert_eq!(status, 200, "{body}");
    body["stock"].as_i64().expect("stock")
}

async fn movements(app: &TestApp, id: i64) -> Vec<stock_movement::Model> {
    stock_movement::Entity::find()
        .filter(stock_movement::Column::ProductId.eq(id))
        .all(&app.state.db)
        .await
        .expect("movements")
}

async fn adjust(app: &TestApp, staff: &str, id: i64, body: Value) -> (u16, Value) {
    app.post(&format!("/api/products/{id}/stock/"), Some(staff), body)
        .await
}

#[tokio::test]
async fn staff_adjust_stock_by_delta_or_by_an_expected_value_and_see_every_movement() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Boot", "5.00", 5).await;

    let (status, body) = adjust(&app, &staff, id, json!({"delta": 3, "reason": "delivery"})).await;
    assert_eq!((status, body["stock"].as_i64()), (200, Some(8)), "{body}");
    let (status, body) = adjust(&app, &staff, id, json!({"delta": -9})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["stock"], 8, "the answer says what is there");
    let (status, body) = adjust(&app, &staff, id, json!({"set": 2, "expected": 7})).await;
    assert_eq!((status, body["stock"].as_i64()), (409, Some(8)), "{body}");
    let (status, body) = adjust(
        &app,
        &staff,
        id,
        json!({"set": 2, "expected": 8, "reason": "count"}),
    )
    .await;
    assert_eq!((status, body["stock"].as_i64()), (200, Some(2)), "{body}");
    // A PATCH of stock is an absolute set, still recorded.
    let (status, _) = app
        .patch(
            &format!("/api/products/{id}/"),
            Some(&staff),
            json!({"stock": 4}),
        )
        .await;
    assert_eq!(status, 200);

    let (status, page) = app
        .get_as(
            &format!("/api/products/{id}/stock/movements/"),
            Some(&staff),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["count"], 4);
    let rows: Vec<(i64, i64, &str)> = page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|m| {
            (
                m["delta"].as_i64().expect("delta"),
                m["stock_after"].as_i64().expect("after"),
                m["reason"].as_str().expect("reason"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (2, 4, "product edit"),
            (-6, 2, "count"),
            (3, 8, "delivery"),
            (5, 5, "product created"),
        ],
        "newest first"
    );
    assert!(
        page["results"][0]["reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("user:"))
    );
    assert!(page["results"][0]["created_at"].is_string());
}

#[tokio::test]
async fn bad_adjustments_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Boot", "5.00", 5).await;
    for (body, field) in [
        (json!({}), "non_field_errors"),
        (
            json!({"delta": 1, "set": 2, "expected": 5}),
            "non_field_errors",
        ),
        (json!({"delta": 0}), "delta"),
        (json!({"delta": "many"}), "delta"),
        (json!({"delta": 2_000_000_000_i64}), "delta"),
        (json!({"delta": i64::MIN}), "delta"),
        (json!({"delta": 1e30}), "delta"),
        (json!({"set": 3}), "expected"),
        (json!({"set": -1, "expected": 5}), "set"),
    ] {
        let (status, answer) = adjust(&app, &staff, id, body.clone()).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert!(answer[field].is_array(), "{body} → {answer}");
    }
    let customer = app.customer_token().await;
    let (status, _) = adjust(&app, &customer, id, json!({"delta": 1})).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .get_as(
            &format!("/api/products/{id}/stock/movements/"),
            Some(&customer),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = adjust(&app, &staff, 999_999, json!({"delta": 1})).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get_as("/api/products/999999/stock/movements/", Some(&staff))
        .await;
    assert_eq!(status, 404);
    assert_eq!(stock_of(&app, &staff, id).await, 5);
    assert_eq!(movements(&app, id).await.len(), 1);
}

#[tokio::test]
async fn thirty_parallel_takes_of_ten_units_sell_exactly_ten_and_the_movements_add_up() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Boot", "5.00", 10).await;
    let url = app.url(&format!("/api/products/{id}/stock/"));
    let answers = burst(30, |_| {
        app.client
            .post(&url)
            .bearer_auth(&staff)
            .json(&json!({"delta": -1, "reason": "sale"}))
    })
    .await;
    assert_eq!(
        (count(&answers, 200), count(&answers, 409)),
        (10, 20),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(stock_of(&app, &staff, id).await, 0);
    let moves = movements(&app, id).await;
    assert_eq!(moves.iter().map(|m| m.delta).sum::<i64>(), 0);
    assert!(moves.iter().all(|m| m.stock_after >= 0));
}

#[tokio::test]
async fn a_retried_adjustment_with_the_same_idempotency_key_is_applied_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Boot", "5.00", 1).await;
    let url = app.url(&format!("/api/products/{id}/stock/"));
    let answers = burst(8, |_| {
        app.client
            .post(&url)
            .bearer_auth(&staff)
            .header("Idempotency-Key", "delivery-2026-11-25")
            .json(&json!({"delta": 10}))
    })
    .await;
    assert_eq!(count(&answers, 200), 8, "every retry answers the product");
    assert!(
        answers.iter().all(|a| a.body["stock"] == 11),
        "every answer shows the one adjustment"
    );
    assert_eq!(stock_of(&app, &staff, id).await, 11);
    assert_eq!(
        movements(&app, id).await.len(),
        2,
        "created, then one adjustment"
    );
    // The same key with another delta is another request: refused, nothing changes.
    let reused = app
        .client
        .post(&url)
        .bearer_auth(&staff)
        .header("Idempotency-Key", "delivery-2026-11-25")
        .json(&json!({"delta": 3}))
        .send()
        .await
        .expect("sent");
    assert_eq!(reused.status(), 422);
    let body: serde_json::Value = reused.json().await.expect("json");
    assert_eq!(
        body["detail"],
        "This Idempotency-Key was used for a different request."
    );
    assert_eq!(stock_of(&app, &staff, id).await, 11);
    assert_eq!(movements(&app, id).await.len(), 2);
    // A key that is not 1 to 100 visible characters is refused and changes nothing.
    let refused = app
        .client
        .post(&url)
        .bearer_auth(&staff)
        .header("Idempotency-Key", "k".repeat(101))
        .json(&json!({"delta": 10}))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 400);
    assert_eq!(stock_of(&app, &staff, id).await, 11);
    // Another key is another adjustment.
    let answer = app
        .client
        .post(&url)
        .bearer_auth(&staff)
        .header("Idempotency-Key", "delivery-2026-11-26")
        .json(&json!({"delta": 10}))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200);
    assert_eq!(stock_of(&app, &staff, id).await, 21);
}

#[tokio::test]
#[ignore = "needs PostgreSQL or MariaDB: set EMPORIUM_TEST_DATABASE and pass --include-ignored"]
async fn stock_changes_of_two_products_never_wait_on_each_other() {
    service("EMPORIUM_TEST_DATABASE");
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let a = product(&app, &staff, "Boot", "5.00", 5).await;
    let b = product(&app, &staff, "Sock", "5.00", 5).await;
    let db = &app.state.db;
    let cause = Cause {
        reason: "order".to_owned(),
        reference: "order:1".to_owned(),
        idempotency_key: None,
    };
    let line = |(product_id, variant_id)| {
        [StockLine {
            product_id,
            variant_id,
            delta: -1,
        }]
    };
    let (a, b) = (
        (a, fixtures::only_variant(&app, a).await),
        (b, fixtures::only_variant(&app, b).await),
    );
    // One open transaction holds product A's change…
    let first = db.begin().await.expect("begin");
    inventory::apply(&first, &line(a), &cause)
        .await
        .expect("A moves");
    // …while another changes product B and commits, without waiting.
    let second = db.begin().await.expect("begin");
    let moved = tokio::time::timeout(
        Duration::from_secs(5),
        inventory::apply(&second, &line(b), &cause),
    )
    .await;
    assert!(
        moved.is_ok(),
        "a change of B waited on the open change of A"
    );
    moved.expect("in time").expect("B moves");
    second.commit().await.expect("commit B");
    // The same product does wait (so the check above can fail).
    let third = db.begin().await.expect("begin");
    let blocked = tokio::time::timeout(
        Duration::from_millis(700),
        inventory::apply(&third, &line(a), &cause),
    )
    .await;
    assert!(
        blocked.is_err(),
        "a second change of A should wait for the first"
    );
    drop(third);
    first.commit().await.expect("commit A");
    assert_eq!(stock_of(&app, &staff, a.0).await, 4);
    assert_eq!(stock_of(&app, &staff, b.0).await, 4);
}

/// GET `path` anonymously: the `x-cache` header and the body.
pub(crate) async fn read(app: &TestApp, path: &str) -> (String, Value) {
    let response = app
        .request(Method::GET, path, None)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200, "{path}");
    let cache = response.headers()["x-cache"]
        .to_str()
        .expect("ascii")
        .to_owned();
    (cache, response.json().await.expect("json"))
}

/// Two products in two categories, each page and detail read once (so cached).
pub(crate) async fn two_cached_products(app: &TestApp, staff: &str) -> [(i64, i64); 2] {
    let mut made = [(0, 0); 2];
    for (n, name) in ["Boot", "Sock"].iter().enumerate() {
        let category = new_category(app, staff, &format!("{name}s"), None).await;
        let body = new_product(
            app,
            staff,
            json!({"name": name, "price": "5.00", "category": category, "stock": 5}),
        )
        .await;
        made[n] = (body["id"].as_i64().expect("id"), category);
    }
    made
}

async fn assert_stock_change_leaves_the_other_product_cached(writer: &TestApp, reader: &TestApp) {
    let staff = writer.staff_token().await;
    let [(boot, boots), (sock, socks)] = two_cached_products(writer, &staff).await;
    let boot_page = format!("/api/products/?category={boots}");
    let sock_page = format!("/api/products/?category={socks}");
    let paths = [
        format!("/api/products/{boot}/"),
        format!("/api/products/{sock}/"),
        boot_page.clone(),
        sock_page.clone(),
    ];
    for path in &paths {
        read(reader, path).await;
        assert_eq!(read(reader, path).await.0, "hit", "{path}");
    }
    let (status, _) = adjust(writer, &staff, boot, json!({"delta": -2})).await;
    assert_eq!(status, 200);
    let (cache, body) = read(reader, &format!("/api/products/{boot}/")).await;
    assert_eq!((cache.as_str(), body["stock"].as_i64()), ("miss", Some(3)));
    let (cache, body) = read(reader, &boot_page).await;
    assert_eq!(
        (cache.as_str(), body["results"][0]["stock"].as_i64()),
        ("miss", Some(3))
    );
    for path in [format!("/api/products/{sock}/"), sock_page] {
        assert_eq!(read(reader, &path).await.0, "hit", "{path} shows no Boot");
    }
}

#[tokio::test]
async fn a_stock_change_leaves_cached_pages_without_that_product_alone() {
    let app = spawn_app().await;
    assert_stock_change_leaves_the_other_product_cached(&app, &app).await;
}

/// Two nodes sharing one database and one Redis.
pub(crate) async fn two_nodes(extra: &[(&'static str, &str)]) -> (TestApp, TestApp) {
    let settings = shared_redis(extra);
    let a = spawn(Spawn {
        settings: settings.clone(),
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let b = spawn(Spawn {
        settings,
        no_worker: true,
        database: Some(TestDatabase::shared(a.db_url())),
        ..Spawn::default()
    })
    .await;
    (a, b)
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_a_stock_change_on_one_node_leaves_the_other_nodes_other_entries_hits() {
    let (a, b) = two_nodes(&[]).await;
    assert_stock_change_leaves_the_other_product_cached(&a, &b).await;
}

async fn assert_never_stale_when_finish_steps_fail(
    writer: &TestApp,
    reader: &TestApp,
    window: Duration,
) {
    let staff = writer.staff_token().await;
    let [(boot, _), _] = two_cached_products(writer, &staff).await;
    let detail = format!("/api/products/{boot}/");
    let list = "/api/products/?ordering=name";
    for path in [detail.as_str(), list] {
        read(reader, path).await;
        assert_eq!(read(reader, path).await.0, "hit");
    }
    // Every invalidation after the commit fails from now on (as if Redis went away, or the
    // request was cancelled right after its commit).
    writer.state.cache.fail_finish_steps(true);
    let (status, _) = writer
        .patch(&detail, Some(&staff), json!({"price": "7.25"}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = adjust(writer, &staff, boot, json!({"delta": -1})).await;
    assert_eq!(status, 200);
    let fresh = |body: &Value| (body["price"].clone(), body["stock"].clone());
    for _ in 0..3 {
        let (_, one) = read(reader, &detail).await;
        assert_eq!(fresh(&one), (json!("7.25"), json!(4)), "detail right after");
        let (_, page) = read(reader, list).await;
        assert_eq!(
            fresh(&page["results"][0]),
            (json!("7.25"), json!(4)),
            "list right after"
        );
    }
    // Once the write window has passed, the entries are cached again — and still fresh.
    tokio::time::sleep(window + Duration::from_millis(300)).await;
    for path in [detail.as_str(), list] {
        read(reader, path).await;
        let (cache, body) = read(reader, path).await;
        let shown = if path == list {
            body["results"][0].clone()
        } else {
            body
        };
        assert_eq!(
            (cache.as_str(), fresh(&shown)),
            ("hit", (json!("7.25"), json!(4))),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_in_process_cache_is_never_stale_when_a_writes_finish_step_is_lost() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_CACHE_WRITE_WINDOW", "1s".to_owned())],
        ..Spawn::default()
    })
    .await;
    assert_never_stale_when_finish_steps_fail(&app, &app, Duration::from_secs(1)).await;
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_no_node_serves_stale_data_when_the_invalidation_after_commit_fails() {
    let (a, b) = two_nodes(&[("EMPORIUM_CACHE_WRITE_WINDOW", "1s")]).await;
    assert_never_stale_when_finish_steps_fail(&a, &b, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn cache_keys_come_from_the_parsed_request_and_ignore_the_host() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_PUBLIC_URL", "https://shop.example".to_owned())],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    for n in 0..3 {
        new_product(
            &app,
            &staff,
            json!({"name": format!("Red shoe {n}"), "price": "12.00", "category": category}),
        )
        .await;
    }
    let first = "/api/products/?search=Red%20Shoe&min_price=10&page_size=2&utm=x";
    let (cache, body) = read(&app, first).await;
    assert_eq!(cache, "miss");
    assert_eq!(
        body["next"],
        "https://shop.example/api/products/?search=red+shoe&min_price=10.00&page_size=2&page=2"
    );
    for same in [
        "/api/products/?page_size=2&min_price=10.00&search=red+shoe",
        "/api/products/?search=red,shoe&min_price=10.0&page_size=2&junk=1&page=1",
    ] {
        let (cache, again) = read(&app, same).await;
        assert_eq!((cache.as_str(), &again), ("hit", &body), "{same}");
    }
    let other_host = app
        .request(Method::GET, first, None)
        .header("Host", "evil.example")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        other_host.headers()["x-cache"],
        "hit",
        "the Host is not part of the key"
    );
}

#[tokio::test]
async fn the_cache_holds_at_most_its_byte_budget() {
    let budget: u64 = 256 * 1024;
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_CACHE_BYTES", budget.to_string())],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    for n in 0..20 {
        new_product(
            &app,
            &staff,
            json!({"name": format!("Shoe {n}"), "description": "x".repeat(600), "price": "12.00", "category": category}),
        )
        .await;
    }
    // 200 different pages of about 5 KiB: four times the budget.
    for n in 0..200 {
        read(
            &app,
            &format!("/api/products/?page_size=5&max_price={}.00", 100 + n),
        )
        .await;
    }
    let held = app.state.cache.weighted_size();
    assert!(held <= budget, "{held} bytes held");
    assert!(held > 0, "something is cached");
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_only_version_keys_are_stored_however_many_pages_are_asked_for() {
    let settings = shared_redis(&[]);
    let prefix = settings
        .iter()
        .find(|(k, _)| *k == "EMPORIUM_REDIS_PREFIX")
        .map(|(_, v)| v.clone())
        .expect("prefix");
    let app = spawn(Spawn {
        settings,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let category = new_category(&app, &staff, "Shoes", None).await;
    for n in 0..5 {
        new_product(
            &app,
            &staff,
            json!({"name": format!("Shoe {n}"), "price": "12.00", "category": category}),
        )
        .await;
    }
    for n in 0..300 {
        read(
            &app,
            &format!("/api/products/?search=shoe&max_price={}.00", 100 + n),
        )
        .await;
    }
    let client = redis::Client::open(service("EMPORIUM_TEST_REDIS")).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}{{cache}}:*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    // Five product mirrors, a value and a mark per scope, the change log and its counter: a
    // number the catalog bounds, not the clients.
    assert!(keys.len() <= 5 + 2 * 3 + 2, "{keys:?}");
}
