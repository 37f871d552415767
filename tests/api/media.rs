//! Media storage: the local folder served under /media/, and an S3-compatible server.

use bytes::Bytes;

use crate::helpers::{Spawn, TestApp, json, raw_request, spawn, spawn_app};
use crate::standins::S3Server;

/// A tiny valid PNG (1×1, transparent): its pixels decode, as an upload's must.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0xe9, 0xfa, 0xdc, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

async fn stored_png(app: &TestApp) -> String {
    let key = emporium::storage::Storage::new_key("products", "png");
    app.state
        .storage
        .put(&key, Bytes::from_static(PNG))
        .await
        .unwrap_or_else(|e| panic!("stored: {e:?}"));
    key
}

#[tokio::test]
async fn a_stored_file_is_served_under_media_with_its_type() {
    let app = spawn_app().await;
    let key = stored_png(&app).await;
    let url = app.state.storage.url(&key, &app.address);
    assert_eq!(url, format!("{}/media/{key}", app.address));
    let response = app.client.get(&url).send().await.expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.expect("body").as_ref(), PNG);

    app.state.storage.delete(&key).await.expect("deleted");
    let (status, body) = json(app.client.get(&url).send().await.expect("sent")).await;
    assert_eq!(status, 404);
    assert_eq!(body["detail"], "Not found.");
}

#[tokio::test]
async fn media_never_lists_folders_or_escapes_its_root() {
    let app = spawn_app().await;
    stored_png(&app).await;
    // Sent byte for byte: an HTTP client library would normalise `..` away before sending,
    // and the request would never reach the media handler.
    for path in [
        "/media/",
        "/media/products",
        "/media/products/",
        "/media/../Cargo.toml",
        "/media/products/../../Cargo.toml",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/products/..%2f..%2fCargo.toml",
        "/media/products/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/media/..\\..\\Cargo.toml",
        "/media//etc/passwd",
        "/media/.secret",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (status, body) = raw_request(app.addr, request.as_bytes()).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body, serde_json::json!({"detail": "Not found."}), "{path}");
    }
}

#[tokio::test]
async fn the_media_url_setting_points_links_at_a_cdn() {
    let app = spawn(Spawn {
        settings: vec![(
            "EMPORIUM_MEDIA_URL",
            "https://cdn.shop.example/media/".to_owned(),
        )],
        ..Spawn::default()
    })
    .await;
    assert_eq!(
        app.state.storage.url("products/x.png", &app.address),
        "https://cdn.shop.example/media/products/x.png"
    );
}

/// An application whose media store is a bucket of the S3 stand-in, public at the URL returned.
async fn s3_app() -> (S3Server, TestApp, String) {
    let s3 = S3Server::start().await;
    s3.create_bucket("emporium-media").await;
    s3.make_public("emporium-media").await;
    let public = format!("{}/emporium-media/shop", s3.endpoint);
    let app = spawn(Spawn {
        settings: vec![
            (
                "EMPORIUM_MEDIA_STORE",
                "s3://emporium-media/shop".to_owned(),
            ),
            ("AWS_ENDPOINT_URL", s3.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("EMPORIUM_MEDIA_URL", public.clone()),
        ],
        ..Spawn::default()
    })
    .await;
    (s3, app, public)
}

#[tokio::test]
#[ignore = "needs an S3 stand-in: set EMPORIUM_TEST_S3=moto and pass --include-ignored"]
async fn the_s3_backend_stores_serves_and_deletes_objects() {
    let (_s3, app, public) = s3_app().await;
    let key = stored_png(&app).await;

    // The public URL (here the bucket itself) returns the same bytes.
    let url = app.state.storage.url(&key, &app.address);
    assert_eq!(url, format!("{public}/{key}"));
    let direct = app.client.get(&url).send().await.expect("sent");
    assert_eq!(direct.status(), 200);
    assert_eq!(direct.bytes().await.expect("body").as_ref(), PNG);

    // The application serves it too, from the bucket.
    let proxied = app.get_response(&format!("/media/{key}")).await;
    assert_eq!(proxied.status(), 200);
    assert_eq!(proxied.headers()["content-type"], "image/png");
    assert_eq!(proxied.bytes().await.expect("body").as_ref(), PNG);

    let fetched = app
        .state
        .storage
        .get(&key)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(fetched.bytes.as_ref(), PNG);
    app.state.storage.delete(&key).await.expect("delete");
    assert!(app.state.storage.get(&key).await.expect("get").is_none());
    assert_eq!(
        app.client.get(&url).send().await.expect("sent").status(),
        404
    );
}

#[tokio::test]
#[ignore = "needs an S3 stand-in: set EMPORIUM_TEST_S3=moto and pass --include-ignored"]
async fn image_sizes_are_stored_in_the_bucket_beside_the_image() {
    let (_s3, app, public) = s3_app().await;
    let staff = app.staff_token().await;
    let id = crate::fixtures::product(&app, &staff, "Jug", "5.00", 1).await;
    let form = reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(crate::image_files::jpeg(900, 600, None)).file_name("jug"),
    );
    let response = app
        .request(
            reqwest::Method::POST,
            &format!("/api/products/{id}/images/"),
            Some(&staff),
        )
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let (status, image) = json(response).await;
    assert_eq!(status, 201, "{image}");
    let mut urls: Vec<String> = ["small", "medium", "large"]
        .iter()
        .map(|size| image["thumbnails"][size].as_str().expect("url").to_owned())
        .collect();
    let mut widths = Vec::new();
    for url in &urls {
        assert!(url.starts_with(&public), "in the bucket: {url}");
        let direct = app.client.get(url).send().await.expect("sent");
        assert_eq!(direct.status(), 200, "{url}");
        assert_eq!(direct.headers()["content-type"], "image/jpeg");
        let bytes = direct.bytes().await.expect("body");
        widths.push(crate::image_files::decode(&bytes).width());
    }
    assert_eq!(widths, [200, 480, 900]);

    urls.push(image["image"].as_str().expect("url").to_owned());
    let path = format!("/api/products/{id}/images/{}/", image["id"]);
    assert_eq!(app.delete(&path, Some(&staff)).await.0, 204);
    for url in urls {
        let status = app.client.get(&url).send().await.expect("sent").status();
        assert_eq!(status, 404, "deleted from the bucket: {url}");
    }
}
