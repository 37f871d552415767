//! The change log the nodes follow (two nodes sharing PostgreSQL or MariaDB and Redis): a
//! write on one node is seen by the other's very next read, round after round; a node that
//! stops following reads Redis instead of its copy; a node whose part of the log was trimmed
//! away starts again rather than trusting its copy; a node started while a write is in flight
//! waits for it.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Spawn, TestApp, TestDatabase, service, spawn};
use crate::inventory::{read, two_cached_products, two_nodes};

/// The Redis key of the change log for a node's settings.
fn log_key(app: &TestApp) -> String {
    format!("{}{{cache}}:log", app.state.settings.redis_prefix)
}

/// Staff set a product's price through `node`.
async fn set_price(node: &TestApp, staff: &str, detail: &str, price: &str) {
    let (status, body) = node
        .patch(detail, Some(staff), json!({ "price": price }))
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(service("EMPORIUM_TEST_REDIS"))
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis")
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_every_write_on_one_node_is_in_the_other_nodes_next_read() {
    let (a, b) = two_nodes(&[]).await;
    let staff = b.staff_token().await;
    let [(boot, boots), _] = two_cached_products(&b, &staff).await;
    let detail = format!("/api/products/{boot}/");
    let page = format!("/api/products/?category={boots}");
    for round in 0..25 {
        // Node A holds both pages in its cache, answered from its copy of the versions.
        for path in [&detail, &page] {
            read(&a, path).await;
            assert_eq!(read(&a, path).await.0, "hit", "round {round}: {path}");
        }
        let price = format!("{}.25", 6 + round);
        set_price(&b, &staff, &detail, &price).await;
        let (_, one) = read(&a, &detail).await;
        assert_eq!(one["price"], json!(price), "round {round}: detail");
        let (_, list) = read(&a, &page).await;
        assert_eq!(
            list["results"][0]["price"],
            json!(price),
            "round {round}: list"
        );
    }
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_a_node_that_stops_following_the_log_reads_redis_instead() {
    let (a, b) = two_nodes(&[]).await;
    let staff = b.staff_token().await;
    let [(boot, _), _] = two_cached_products(&b, &staff).await;
    let detail = format!("/api/products/{boot}/");
    read(&a, &detail).await;
    assert_eq!(read(&a, &detail).await.0, "hit");
    a.state.cache.pause_following(true);
    set_price(&b, &staff, &detail, "8.50").await;
    // A's copy is behind and its lease has run out: it asks Redis, which has the write.
    let (cache, one) = read(&a, &detail).await;
    assert_eq!((cache.as_str(), &one["price"]), ("miss", &json!("8.50")));
    let (cache, one) = read(&a, &detail).await;
    assert_eq!((cache.as_str(), &one["price"]), ("hit", &json!("8.50")));
    a.state.cache.pause_following(false);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (cache, one) = read(&a, &detail).await;
    assert_eq!((cache.as_str(), &one["price"]), ("hit", &json!("8.50")));
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_a_node_whose_part_of_the_log_was_trimmed_starts_again() {
    let (a, b) = two_nodes(&[]).await;
    let staff = b.staff_token().await;
    let [(boot, _), (sock, _)] = two_cached_products(&b, &staff).await;
    let boot_detail = format!("/api/products/{boot}/");
    let sock_detail = format!("/api/products/{sock}/");
    for path in [&boot_detail, &sock_detail] {
        read(&a, path).await;
        assert_eq!(read(&a, path).await.0, "hit", "{path}");
    }
    a.state.cache.pause_following(true);
    set_price(&b, &staff, &boot_detail, "9.75").await;
    // The entries A has not read are trimmed away, as when a node falls far behind.
    let trimmed: i64 = redis::cmd("XTRIM")
        .arg(log_key(&a))
        .arg("MAXLEN")
        .arg(0)
        .query_async(&mut redis().await)
        .await
        .expect("trim");
    assert!(
        trimmed >= 2,
        "the write's prepare and finish entries: {trimmed}"
    );
    a.state.cache.pause_following(false);
    // Reads keep A polling often, so that its next read is answered from its copy.
    for _ in 0..20 {
        read(&a, &sock_detail).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A's copy said Boot was at its old version; A must notice the gap, not trust it.
    let (_, one) = read(&a, &boot_detail).await;
    assert_eq!(one["price"], "9.75");
    // Sock did not change: once A has learnt its versions again it is a hit.
    read(&a, &sock_detail).await;
    assert_eq!(read(&a, &sock_detail).await.0, "hit");
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn with_redis_a_node_started_while_a_write_is_in_flight_waits_for_it() {
    let (a, b) = two_nodes(&[("EMPORIUM_CACHE_WRITE_WINDOW", "4s")]).await;
    let staff = b.staff_token().await;
    let [(boot, _), _] = two_cached_products(&b, &staff).await;
    let list = "/api/products/?ordering=name";
    // B's writes never finish: their in-flight marks stay until the window ends.
    b.state.cache.fail_finish_steps(true);
    let (status, _) = b
        .patch(
            &format!("/api/products/{boot}/"),
            Some(&staff),
            json!({"name": "Aardvark boot"}),
        )
        .await;
    assert_eq!(status, 200);
    // A third node starts now: it learns the mark from Redis and does not cache under it.
    let c = spawn(Spawn {
        settings: vec![
            ("REDIS_URL", service("EMPORIUM_TEST_REDIS")),
            (
                "EMPORIUM_REDIS_PREFIX",
                a.state.settings.redis_prefix.clone(),
            ),
            ("EMPORIUM_CACHE_WRITE_WINDOW", "4s".to_owned()),
        ],
        no_worker: true,
        database: Some(TestDatabase::shared(a.db_url())),
        ..Spawn::default()
    })
    .await;
    for node in [&a, &c] {
        for _ in 0..2 {
            let (cache, page) = read(node, list).await;
            assert_eq!(cache, "bypass");
            assert_eq!(page["results"][0]["name"], "Aardvark boot");
        }
    }
    // (A window long enough for the third node to start on a busy machine.)
    tokio::time::sleep(Duration::from_millis(4300)).await;
    for node in [&a, &c] {
        read(node, list).await;
        let (cache, page) = read(node, list).await;
        assert_eq!(cache, "hit");
        assert_eq!(page["results"][0]["name"], "Aardvark boot");
    }
}
