//! The front door: a cached catalog read answered before routing. What it answers must be what
//! the handler answers — the same body, headers, rate limit and metrics — and never an entry a
//! write replaced, whoever asks and through whichever host.

use reqwest::Method;
use serde_json::json;

use crate::fixtures::product;
use crate::helpers::{TestApp, json, spawn, spawn_app, with};

/// `GET path` without credentials: status, `X-Cache`, the headers, the body's bytes.
async fn read(app: &TestApp, path: &str) -> (u16, String, reqwest::header::HeaderMap, String) {
    let response = app.get_response(path).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let cache = headers
        .get("x-cache")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    (status, cache, headers, response.text().await.expect("body"))
}

/// The headers of an answer but its request id, date and `X-Cache`, in order.
fn lasting(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "x-request-id" | "date" | "x-cache"))
        .map(|(name, value)| {
            let value = value.to_str().expect("ascii").to_owned();
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// Reads `path` (whose miss the handler answered with `handlers` and `body`) again: the front
/// door learnt the URL from that answer, and its hits are the same — the bytes and every header
/// but the request id, the date and `X-Cache`.
async fn answers_alike(
    app: &TestApp,
    path: &str,
    handlers: &reqwest::header::HeaderMap,
    body: &str,
) {
    for n in 0..4 {
        let (status, cache, headers, again) = read(app, path).await;
        assert_eq!(
            (status, cache.as_str(), again.as_str()),
            (200, "hit", body),
            "read {n}"
        );
        assert_eq!(lasting(&headers), lasting(handlers), "read {n}");
        assert!(headers.contains_key("x-request-id"));
    }
}

#[tokio::test]
async fn a_read_answered_before_routing_is_the_handlers_answer() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Kettle", "24.50", 7).await;
    let path = format!("/api/products/{id}/");
    let series = r#"http_requests_total{method="GET",route="/api/products/{id}/",status="200"}"#;
    let before = app.metric(series).await.unwrap_or(0.0);

    let (status, cache, headers, first) = read(&app, &path).await;
    assert_eq!((status, cache.as_str()), (200, "miss"));
    answers_alike(&app, &path, &headers, &first).await;
    let echoed = app
        .request(Method::GET, &path, None)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("sent");
    assert_eq!(echoed.headers()["x-cache"], "hit");
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
    assert!(
        app.metric(series).await.unwrap_or(0.0) >= before + 6.0,
        "every read is counted under its route template"
    );
}

#[tokio::test]
async fn with_cors_the_front_doors_answer_has_the_layers_headers_too() {
    let app = spawn(with(&[("EMPORIUM_CORS_ORIGINS", "https://app.example")])).await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Mug", "4.50", 9).await;
    let path = format!("/api/products/{id}/");
    let (status, cache, headers, first) = read(&app, &path).await;
    assert_eq!((status, cache.as_str()), (200, "miss"));
    assert!(
        headers.contains_key("vary"),
        "the CORS layer's Vary: {headers:?}"
    );
    answers_alike(&app, &path, &headers, &first).await;
}

#[tokio::test]
async fn a_change_is_seen_at_once_through_the_front_door() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Teapot", "30.00", 5).await;
    let path = format!("/api/products/{id}/");
    for _ in 0..3 {
        assert_eq!(app.get(&path).await.0, 200);
        assert_eq!(app.get("/api/products/?ordering=price").await.0, 200);
    }
    let (status, body) = app
        .patch(&path, Some(&staff), json!({"price": "31.00"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, cache, _, body) = read(&app, &path).await;
    assert_eq!((status, cache.as_str()), (200, "miss"));
    assert!(body.contains("\"31.00\""), "{body}");
    let (_, list) = app.get("/api/products/?ordering=price").await;
    assert_eq!(list["results"][0]["price"], "31.00");

    let (status, _) = app
        .patch(&path, Some(&staff), json!({"is_active": false}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.get(&path).await.0, 404, "a product taken down is gone");
    let (_, list) = app.get("/api/products/?ordering=price").await;
    assert_eq!(list["count"], 0);
}

#[tokio::test]
async fn the_front_door_counts_the_rate_limit() {
    let app = spawn(with(&[("EMPORIUM_THROTTLE_ANON", "4/min")])).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(read(&app, "/api/categories/").await);
    }
    let ok = statuses.iter().filter(|r| r.0 == 200).count();
    let throttled: Vec<_> = statuses.iter().filter(|r| r.0 == 429).collect();
    assert_eq!((ok, throttled.len()), (4, 3), "{statuses:?}");
    assert!(throttled[0].2.contains_key("retry-after"));
    assert!(throttled[0].3.contains("Request was throttled"));
}

#[tokio::test]
async fn credentials_another_host_and_origins_go_the_long_way() {
    let app = spawn(with(&[
        ("EMPORIUM_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("EMPORIUM_CORS_ORIGINS", "https://app.example"),
    ]))
    .await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Lamp", "12.00", 3).await;
    product(&app, &staff, "Desk lamp", "14.00", 3).await;
    let hidden = product(&app, &staff, "Hidden lamp", "13.00", 3).await;
    let (status, _) = app
        .patch(
            &format!("/api/products/{hidden}/"),
            Some(&staff),
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(status, 200);
    let list = "/api/products/?page_size=1";
    for _ in 0..3 {
        assert_eq!(app.get(list).await.1["count"], 2);
    }

    // Staff see what the anonymous entry does not hold.
    let response = app
        .request(Method::GET, list, Some(&staff))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.headers()["x-cache"], "bypass");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(json(response).await.1["count"], 3);

    // A bad token is refused, not answered from the cache.
    let response = app
        .request(Method::GET, list, Some("not-a-token"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);

    // Links name the host the request came through.
    for host in ["a.shop.example", "b.shop.example"] {
        for _ in 0..3 {
            let response = app
                .request(Method::GET, list, None)
                .header("x-forwarded-host", host)
                .send()
                .await
                .expect("sent");
            let (_, body) = json(response).await;
            let next = body["next"].as_str().unwrap_or("");
            assert!(next.contains(host), "{host}: {body}");
        }
    }

    // A browser's request gets its CORS headers.
    let response = app
        .request(Method::GET, &format!("/api/products/{id}/"), None)
        .header("origin", "https://app.example")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
}
