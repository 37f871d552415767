//! The contract's conventions, over HTTP: paths, bodies, errors, pagination, request ids, CORS.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Spawn, TestApp, json, raw_request, spawn};
use crate::probes;

async fn app_with_probes(settings: &[(&'static str, &str)]) -> TestApp {
    spawn(Spawn {
        settings: settings
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect(),
        routes: Some(probes::routes()),
        ..Spawn::default()
    })
    .await
}

#[tokio::test]
async fn paths_are_served_with_and_without_the_trailing_slash() {
    let app = app_with_probes(&[]).await;
    for path in [
        "/health/",
        "/health",
        "/ready/",
        "/ready",
        "/api/schema/",
        "/api/schema",
    ] {
        let response = app.get_response(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers().get("location").is_none(),
            "{path} redirected"
        );
    }
    let with = app
        .post("/api/_probe/echo/", None, json!({"name": "a"}))
        .await;
    let without = app
        .post("/api/_probe/echo", None, json!({"name": "a"}))
        .await;
    assert_eq!((with.0, without.0), (200, 200));
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = app_with_probes(&[]).await;
    let (status, body) = app.get("/api/no-such-thing/").await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"detail": "Not found."}));
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_with_allow() {
    let app = app_with_probes(&[]).await;
    let response = app
        .request(Method::DELETE, "/health/", None)
        .send()
        .await
        .expect("sent");
    let allow = response.headers().get("allow").cloned();
    let (status, body) = json(response).await;
    assert_eq!(status, 405);
    assert_eq!(body, json!({"detail": "Method \"DELETE\" not allowed."}));
    assert!(
        allow
            .expect("Allow header")
            .to_str()
            .expect("ascii")
            .contains("GET")
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_detail() {
    let app = app_with_probes(&[]).await;
    let response = app
        .post_bytes_response(
            "/api/_probe/echo/",
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await;
    let (status, body) = json(response).await;
    assert_eq!(status, 400);
    let detail = body["detail"].as_str().expect("detail is a string");
    assert!(detail.starts_with("JSON parse error"), "{detail}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1));
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_a_400_detail() {
    let app = app_with_probes(&[]).await;
    for (raw, kind) in [
        ("[1, 2]", "list"),
        ("\"name\"", "str"),
        ("42", "number"),
        ("null", "null"),
    ] {
        let response = app
            .post_bytes_response(
                "/api/_probe/echo/",
                "application/json",
                raw.as_bytes().to_vec(),
            )
            .await;
        let (status, body) = json(response).await;
        assert_eq!(status, 400, "{raw}");
        assert_eq!(
            body,
            json!({"detail": format!("Invalid data. Expected a dictionary, but got {kind}.")})
        );
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415() {
    let app = app_with_probes(&[]).await;
    let response = app
        .post_bytes_response(
            "/api/_probe/echo/",
            "text/plain",
            b"{\"name\": \"a\"}".to_vec(),
        )
        .await;
    let (status, body) = json(response).await;
    assert_eq!(status, 415);
    assert_eq!(
        body,
        json!({"detail": "Unsupported media type \"text/plain\" in request."})
    );

    let form = app
        .post_bytes_response(
            "/api/_probe/echo/",
            "application/x-www-form-urlencoded",
            b"name=a".to_vec(),
        )
        .await;
    assert_eq!(form.status(), 415);
}

#[tokio::test]
async fn invalid_utf8_is_a_400() {
    let app = app_with_probes(&[]).await;
    let mut body = b"{\"name\": \"".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    body.extend_from_slice(b"\"}");
    let (status, body) = json(
        app.post_bytes_response("/api/_probe/echo/", "application/json", body)
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .starts_with("JSON parse error")
    );
}

#[tokio::test]
async fn ten_thousand_levels_of_nesting_are_refused_and_the_server_keeps_serving() {
    let app = app_with_probes(&[]).await;
    let deep = format!("{{\"name\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let (status, body) = json(
        app.post_bytes_response("/api/_probe/echo/", "application/json", deep.into_bytes())
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("recursion limit")
    );
    assert_eq!(app.get("/health/").await.0, 200);
}

#[tokio::test]
async fn numbers_beyond_64_bits_are_field_errors() {
    let app = app_with_probes(&[]).await;
    let raw = br#"{"name": "a", "quantity": 123456789012345678901234567890}"#.to_vec();
    let (status, body) = json(
        app.post_bytes_response("/api/_probe/echo/", "application/json", raw)
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"quantity": ["A valid integer is required."]}));

    let raw = br#"{"name": "a", "quantity": 1e400}"#.to_vec();
    let (status, _) = json(
        app.post_bytes_response("/api/_probe/echo/", "application/json", raw)
            .await,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413() {
    let app = app_with_probes(&[]).await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let (status, body) = json(
        app.post_bytes_response(
            "/api/_probe/echo/",
            "application/json",
            big.clone().into_bytes(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(body, json!({"detail": "Request body is too large."}));

    // The same without a Content-Length (chunked): cut off while reading.
    let mut request = b"POST /api/_probe/echo/ HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for chunk in big.as_bytes().chunks(64 * 1024) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = raw_request(app.addr, &request).await;
    assert_eq!(status, 413);
    assert_eq!(body, json!({"detail": "Request body is too large."}));
}

#[tokio::test]
async fn the_body_limit_is_a_setting() {
    let app = app_with_probes(&[("EMPORIUM_MAX_BODY_SIZE", "100")]).await;
    let body = json!({"name": "x".repeat(200)});
    let (status, _) = app.post("/api/_probe/echo/", None, body).await;
    assert_eq!(status, 413);
    let (status, _) = app
        .post("/api/_probe/echo/", None, json!({"name": "short"}))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn field_errors_have_one_key_per_field() {
    let app = app_with_probes(&[]).await;
    let (status, body) = app.post("/api/_probe/echo/", None, json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"name": ["This field is required."]}));

    let (status, body) = app
        .post(
            "/api/_probe/echo/",
            None,
            json!({"name": null, "quantity": 0, "price": "1.999"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({
            "name": ["This field may not be null."],
            "quantity": ["Ensure this value is greater than or equal to 1."],
            "price": ["Ensure that there are no more than 2 decimal places."],
        })
    );

    let (status, body) = app
        .post("/api/_probe/echo/", None, json!({"name": "forbidden"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"non_field_errors": ["This name and quantity cannot go together."]})
    );
}

#[tokio::test]
async fn unknown_keys_are_ignored_and_money_and_time_use_the_contract_formats() {
    let app = app_with_probes(&[]).await;
    let (status, body) = app
        .post(
            "/api/_probe/echo/",
            None,
            json!({"name": "a", "price": "19.9", "is_staff": true, "user": 7}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["price"], "19.90");
    assert_eq!(body["currency"], "USD");
    assert!(body.get("is_staff").is_none() && body.get("user").is_none());
    let at = body["at"].as_str().expect("timestamp");
    assert!(at.ends_with('Z'), "{at}");
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
}

#[tokio::test]
async fn the_currency_setting_drives_money_formatting() {
    let app = app_with_probes(&[("EMPORIUM_CURRENCY", "JPY")]).await;
    let (status, body) = app
        .post("/api/_probe/echo/", None, json!({"name": "a"}))
        .await;
    assert_eq!((status, &body["currency"]), (200, &json!("JPY")));
}

#[tokio::test]
async fn lists_are_paginated_with_absolute_links() {
    let app = app_with_probes(&[]).await;
    let (status, body) = app.get("/api/_probe/numbers/?count=45").await;
    assert_eq!(status, 200);
    assert_eq!(body["count"], 45);
    assert_eq!(body["results"].as_array().map(Vec::len), Some(20));
    assert_eq!(body["results"][0], 1);
    assert_eq!(
        body["next"],
        json!(format!(
            "{}/api/_probe/numbers/?count=45&page=2",
            app.address
        ))
    );
    assert_eq!(body["previous"], json!(null));

    let (_, page3) = app.get("/api/_probe/numbers/?count=45&page=3").await;
    assert_eq!(page3["results"], json!([41, 42, 43, 44, 45]));
    assert_eq!(page3["next"], json!(null));
    assert_eq!(
        page3["previous"],
        json!(format!(
            "{}/api/_probe/numbers/?count=45&page=2",
            app.address
        ))
    );
    let (_, page2) = app.get("/api/_probe/numbers/?count=45&page=2").await;
    assert_eq!(
        page2["previous"],
        json!(format!("{}/api/_probe/numbers/?count=45", app.address))
    );
}

#[tokio::test]
async fn page_size_is_clamped_to_one_hundred() {
    let app = app_with_probes(&[]).await;
    let (status, body) = app
        .get("/api/_probe/numbers/?count=250&page_size=1000")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["results"].as_array().map(Vec::len), Some(100));
    let (_, body) = app.get("/api/_probe/numbers/?count=250&page_size=7").await;
    assert_eq!(body["results"].as_array().map(Vec::len), Some(7));
}

#[tokio::test]
async fn a_page_past_the_end_or_unreadable_is_invalid() {
    let app = app_with_probes(&[]).await;
    for query in [
        "count=45&page=4",
        "count=45&page=0",
        "count=45&page=two",
        "count=0&page=2",
    ] {
        let (status, body) = app.get(&format!("/api/_probe/numbers/?{query}")).await;
        assert_eq!(status, 404, "{query}");
        assert_eq!(body, json!({"detail": "Invalid page."}), "{query}");
    }
    let (status, body) = app.get("/api/_probe/numbers/?count=0").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
}

#[tokio::test]
async fn links_honour_the_public_url_setting() {
    let app = app_with_probes(&[("EMPORIUM_PUBLIC_URL", "https://api.shop.example")]).await;
    let (_, body) = app.get("/api/_probe/numbers/?count=45").await;
    assert_eq!(
        body["next"],
        json!("https://api.shop.example/api/_probe/numbers/?count=45&page=2")
    );
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    let forwarded = |app: &TestApp| {
        app.request(Method::GET, "/api/_probe/numbers/?count=45", None)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "shop.example")
            .send()
    };
    let untrusted = app_with_probes(&[]).await;
    let (_, body) = json(forwarded(&untrusted).await.expect("sent")).await;
    assert_eq!(
        body["next"],
        json!(format!(
            "{}/api/_probe/numbers/?count=45&page=2",
            untrusted.address
        ))
    );

    let trusted = app_with_probes(&[("EMPORIUM_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let (_, body) = json(forwarded(&trusted).await.expect("sent")).await;
    assert_eq!(
        body["next"],
        json!("https://shop.example/api/_probe/numbers/?count=45&page=2")
    );
}

#[tokio::test]
async fn every_response_has_a_request_id_and_a_clients_plain_id_is_kept() {
    let app = app_with_probes(&[]).await;
    let response = app.get_response("/health/").await;
    let generated = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(generated.len(), 32);

    let response = app
        .request(Method::GET, "/api/nope/", None)
        .header("x-request-id", "client-id-123")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.headers()["x-request-id"], "client-id-123");

    let response = app
        .request(Method::GET, "/health/", None)
        .header("x-request-id", "spaces and <html>")
        .send()
        .await
        .expect("sent");
    assert_ne!(response.headers()["x-request-id"], "spaces and <html>");
}

#[tokio::test]
async fn a_panicking_handler_is_a_generic_500_and_the_server_keeps_serving() {
    let app = app_with_probes(&[]).await;
    let response = app.get_response("/api/_probe/panic/").await;
    assert!(response.headers().contains_key("x-request-id"));
    let (status, body) = json(response).await;
    assert_eq!(status, 500);
    assert_eq!(body, json!({"detail": "A server error occurred."}));
    assert!(!body.to_string().contains("probe panicked"));
    for _ in 0..3 {
        assert_eq!(app.get("/health/").await.0, 200);
    }
}

#[tokio::test]
async fn a_request_running_past_the_timeout_is_a_json_503() {
    let app = app_with_probes(&[("EMPORIUM_REQUEST_TIMEOUT", "300ms")]).await;
    let (status, body) = app.get("/api/_probe/slow/?ms=5000").await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"detail": "Service temporarily unavailable, try again later."})
    );
    let (status, _) = app.get("/api/_probe/slow/?ms=10").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let preflight = |app: &TestApp, origin: &str| {
        app.request(Method::OPTIONS, "/api/_probe/echo/", None)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let app = app_with_probes(&[("EMPORIUM_CORS_ORIGINS", "https://app.shop.example")]).await;
    let allowed = preflight(&app, "https://app.shop.example")
        .await
        .expect("sent");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().ok()),
        Some(Some("https://app.shop.example"))
    );
    let refused = preflight(&app, "https://evil.example").await.expect("sent");
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let simple = app
        .request(Method::GET, "/health/", None)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("sent");
    assert!(
        simple
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let unconfigured = app_with_probes(&[]).await;
    let response = preflight(&unconfigured, "https://app.shop.example")
        .await
        .expect("sent");
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
