//! Operations endpoints: health, readiness, metrics, the OpenAPI document and docs page, and
//! graceful shutdown.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    Engine, FlakyProxy, Spawn, TestDatabase, engine, eventually, server_addr, spawn, spawn_app, via,
};
use crate::probes;

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    let (status, body) = app.get("/health/").await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
}

#[tokio::test]
async fn ready_answers_ok_while_the_database_answers() {
    let app = spawn_app().await;
    let (status, body) = app.get("/ready/").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok", "checks": {"database": "ok"}}));
}

#[tokio::test]
async fn ready_is_503_while_no_database_connection_can_be_had_and_recovers() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_DB_MAX_CONNECTIONS", "1".to_owned())],
        ..Spawn::default()
    })
    .await;
    // Hold the only connection: the database is out of reach for the application.
    let held = match engine() {
        Engine::Sqlite => Held::Sqlite(
            app.state
                .db
                .get_sqlite_connection_pool()
                .acquire()
                .await
                .expect("acquire"),
        ),
        Engine::Postgres => Held::Postgres(
            app.state
                .db
                .get_postgres_connection_pool()
                .acquire()
                .await
                .expect("acquire"),
        ),
        Engine::MySql => Held::MySql(
            app.state
                .db
                .get_mysql_connection_pool()
                .acquire()
                .await
                .expect("acquire"),
        ),
    };
    let (status, body) = app.get("/ready/").await;
    assert_eq!(status, 503);
    assert_eq!(body["checks"], json!({"database": "unavailable"}));
    assert!(body["detail"].is_string());
    drop(held);
    let (status, _) = app.get("/ready/").await;
    assert_eq!(status, 200);
}

#[expect(dead_code, reason = "held only to keep the connection checked out")]
enum Held {
    Sqlite(sea_orm::sqlx::pool::PoolConnection<sea_orm::sqlx::Sqlite>),
    Postgres(sea_orm::sqlx::pool::PoolConnection<sea_orm::sqlx::Postgres>),
    MySql(sea_orm::sqlx::pool::PoolConnection<sea_orm::sqlx::MySql>),
}

/// A real outage between the application and a network database: readiness goes 503, then
/// back to 200 once the server is reachable again, without a restart. (SQLite is a file in the
/// process; the pool test above covers it.)
#[tokio::test]
#[ignore = "needs PostgreSQL or MariaDB: set EMPORIUM_TEST_DATABASE and pass --include-ignored"]
async fn ready_follows_a_network_database_outage_without_a_restart() {
    assert_ne!(
        engine(),
        Engine::Sqlite,
        "this test needs EMPORIUM_TEST_DATABASE=postgres://… or mysql://…"
    );
    let mut database = TestDatabase::create().await;
    let proxy = FlakyProxy::start(server_addr(&database.url)).await;
    database.url = via(&database.url, proxy.addr);
    let app = spawn(Spawn {
        database: Some(database),
        ..Spawn::default()
    })
    .await;
    assert_eq!(app.get("/ready/").await.0, 200);

    proxy.down();
    let went_down = eventually(Duration::from_secs(20), || async {
        app.get("/ready/").await.0 == 503
    })
    .await;
    assert!(went_down, "readiness never reported the outage");
    assert_eq!(
        app.get("/health/").await.0,
        200,
        "liveness must not depend on the database"
    );

    proxy.up();
    let came_back = eventually(Duration::from_secs(30), || async {
        app.get("/ready/").await.0 == 200
    })
    .await;
    assert!(came_back, "readiness did not recover");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_method_and_status() {
    let app = spawn(Spawn {
        routes: Some(probes::routes()),
        ..Spawn::default()
    })
    .await;
    app.get_response("/api/_probe/numbers/?count=3").await;
    app.get_response("/api/_probe/numbers?count=3&page=9").await;
    app.get_response("/this/path/is/not/routed/12345").await;
    let response = app.get_response("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let text = response.text().await.expect("body");
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/_probe/numbers/",status="200"}"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"http_requests_total{method="GET",route="/api/_probe/numbers/",status="404"}"#
    ));
    assert!(text.contains(r#"route="unmatched""#));
    // (Not the number alone: a counter shared by the whole test binary may read 12345.)
    assert!(
        !text.contains("not/routed"),
        "raw paths must not become labels"
    );
    assert!(text.contains("http_request_duration_seconds_bucket{"));
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn the_copy_of_the_openapi_document_in_docs_is_current() {
    let app = spawn_app().await;
    let (status, served) = app.get("/api/schema/").await;
    assert_eq!(status, 200);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let copy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("docs/openapi.json"))
            .expect("JSON");
    assert!(
        copy == served,
        "docs/openapi.json is stale: run `cargo run -q -- openapi > docs/openapi.json`"
    );
}

#[tokio::test]
async fn the_served_document_gives_prices_the_shops_minor_digits() {
    for (currency, pattern) in [
        ("USD", "^[0-9]{1,15}(\\.[0-9]{1,2})?$"),
        ("JPY", "^[0-9]{1,15}$"),
        ("KWD", "^[0-9]{1,15}(\\.[0-9]{1,3})?$"),
    ] {
        let app = spawn(Spawn {
            settings: vec![("EMPORIUM_CURRENCY", currency.to_owned())],
            no_worker: true,
            ..Spawn::default()
        })
        .await;
        for path in ["/api/schema/", "/api/schema"] {
            let (status, doc) = app.get(path).await;
            assert_eq!(status, 200);
            for schema in ["ProductRequest", "ProductChanges"] {
                assert_eq!(
                    doc["components"]["schemas"][schema]["properties"]["price"]["pattern"], pattern,
                    "{currency} {path} {schema}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_served_routes() {
    let app = spawn_app().await;
    let (status, doc) = app.get("/api/schema/").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/health/") && paths.contains_key("/ready/"));
    for (path, item) in paths {
        if item.get("get").is_some() && !path.contains('{') {
            let response = app.get_response(path).await;
            assert_ne!(
                response.status(),
                404,
                "{path} is documented but not served"
            );
        }
    }
    assert!(doc["components"]["schemas"].get("ErrorDetail").is_some());
    // Lists are documented as the paginator's envelope around their items.
    let list = &doc["paths"]["/api/products/"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(list, "#/components/schemas/Page_ProductView");
    let page = &doc["components"]["schemas"]["Page_ProductView"]["properties"];
    for key in ["count", "next", "previous", "results"] {
        assert!(page.get(key).is_some(), "{key}");
    }
    assert!(doc["components"]["securitySchemes"].get("jwt").is_some());
}

#[tokio::test]
async fn the_docs_page_is_served_from_the_binary_without_outside_addresses() {
    let app = spawn_app().await;
    let page = app.get_response("/api/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger-ui"));
    let initializer = app.get_response("/api/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status(), 200);
    let script = initializer.text().await.expect("js");
    assert!(script.contains("/api/schema/"), "{script}");
    for text in [&html, &script] {
        let external = text
            .match_indices("http")
            .filter(|(i, _)| {
                text[*i..].starts_with("http://") || text[*i..].starts_with("https://")
            })
            .count();
        assert_eq!(
            external, 0,
            "the docs page must not load anything from outside"
        );
    }
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js"] {
        let response = app.get_response(&format!("/api/docs/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset}");
    }
}

#[tokio::test]
async fn shutdown_lets_requests_in_flight_finish_and_then_stops() {
    let mut app = spawn(Spawn {
        routes: Some(probes::routes()),
        ..Spawn::default()
    })
    .await;
    let client = app.client.clone();
    let url = app.url("/api/_probe/slow/?ms=700");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let server = app.stop();
    let response = in_flight
        .await
        .expect("task")
        .expect("in-flight request answered");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({"slept": 700}));
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "server did not stop cleanly"
    );
    let fresh = reqwest::Client::new().get(app.url("/health/")).send().await;
    assert!(
        fresh.is_err(),
        "a stopped server must not accept connections"
    );
}

#[tokio::test]
async fn shutdown_is_bounded_by_the_shutdown_timeout() {
    let mut app = spawn(Spawn {
        settings: vec![("EMPORIUM_SHUTDOWN_TIMEOUT", "300ms".to_owned())],
        routes: Some(probes::routes()),
        ..Spawn::default()
    })
    .await;
    let client = app.client.clone();
    let url = app.url("/api/_probe/slow/?ms=20000");
    let _in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let server = app.stop();
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "shutdown waited past its bound"
    );
}

#[tokio::test]
async fn metrics_show_the_job_queue_and_job_outcomes() {
    let app = spawn_app().await;
    let message = emporium::email::Email {
        to: "ada@example.com".to_owned(),
        subject: "Hello".to_owned(),
        text: "plain".to_owned(),
        html: "<p>html</p>".to_owned(),
        attachments: Vec::new(),
    };
    let id = emporium::email::job::enqueue(&app.state.db, message.clone())
        .await
        .expect("enqueue");
    let done = eventually(Duration::from_secs(10), || async {
        use sea_orm::EntityTrait;
        emporium::jobs::job::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .expect("query")
            .is_some_and(|job| job.state.as_str() == "done")
    })
    .await;
    assert!(done);
    let text = app
        .get_response("/metrics")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        text.contains(r#"jobs_total{kind="email.send",outcome="done"}"#),
        "{text}"
    );
    assert!(text.contains(r#"job_duration_seconds_bucket{kind="email.send""#));
    for state in ["queued", "running", "failed", "done", "dead"] {
        assert!(
            text.contains(&format!("jobs_queue_depth{{state=\"{state}\"}}")),
            "{state}"
        );
    }
}

#[tokio::test]
async fn metrics_count_cached_catalog_reads_by_result() {
    let app = spawn_app().await;
    for _ in 0..2 {
        assert_eq!(app.get("/api/products/").await.0, 200);
    }
    let text = app
        .get_response("/metrics")
        .await
        .text()
        .await
        .expect("body");
    for result in ["hit", "miss"] {
        let line = format!("cache_lookups_total{{result=\"{result}\"}}");
        assert!(text.contains(&line), "{line} in {text}");
    }
}
