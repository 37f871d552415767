//! Image sizes: what an app gets for an upload (upright, stripped, never upscaled), what is
//! refused before or while decoding (and leaves nothing behind), the bounded workers, deleting,
//! and the job that gives images stored by an older version their sizes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use emporium::catalog::product_image;
use emporium::catalog::products::image_sizes::MakeImageSizes;
use emporium::jobs::JobContext;
use emporium::settings::MediaStore;
use reqwest::Method;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::{Value, json};

use crate::fixtures::product;
use crate::helpers::{
    Spawn, TestApp, TestDatabase, burst, count, eventually, run_job, spawn, spawn_app,
};
use crate::image_files::{claiming, decode, gradient_png, has_exif, jpeg, zero_png};
use crate::media::PNG;

const NOT_AN_IMAGE: &str =
    "Upload a valid image. The file you uploaded was either not an image or a corrupted image.";

fn form(bytes: &[u8]) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("photo"),
    )
}

/// Uploads `bytes` as an image of product `id`: the status and the body.
pub(crate) async fn upload(app: &TestApp, staff: &str, id: i64, bytes: &[u8]) -> (u16, Value) {
    let response = app
        .request(
            Method::POST,
            &format!("/api/products/{id}/images/"),
            Some(staff),
        )
        .multipart(form(bytes))
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

/// The files under the media folder, relative to it.
fn media_files(app: &TestApp) -> Vec<String> {
    let MediaStore::Local { root } = &app.state.settings.media.store else {
        panic!("a local media folder");
    };
    let mut found = Vec::new();
    let mut folders: Vec<PathBuf> = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.map(|e| e.expect("entry").path()) {
            if entry.is_dir() {
                folders.push(entry);
            } else {
                let relative = entry.strip_prefix(root).unwrap_or(Path::new(""));
                found.push(relative.display().to_string());
            }
        }
    }
    found.sort();
    found
}

async fn image_rows(app: &TestApp) -> u64 {
    product_image::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count")
}

/// Fetches a URL and decodes it: its media type and dimensions, and the bytes.
async fn fetch(app: &TestApp, url: &str) -> (String, (u32, u32), Vec<u8>) {
    let response = app.client.get(url).send().await.expect("sent");
    assert_eq!(response.status(), 200, "{url}");
    let kind = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let bytes = response.bytes().await.expect("body").to_vec();
    let image = decode(&bytes);
    (kind, (image.width(), image.height()), bytes)
}

fn thumbnail_urls(image: &Value) -> [String; 3] {
    ["small", "medium", "large"].map(|size| {
        image["thumbnails"][size]
            .as_str()
            .unwrap_or_else(|| panic!("{size} in {image}"))
            .to_owned()
    })
}

#[tokio::test]
async fn an_upload_gets_upright_sizes_without_metadata() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Lamp", "30.00", 1).await;
    let photo = jpeg(1600, 1200, Some(6));
    assert!(has_exif(&photo));

    let (status, image) = upload(&app, &staff, id, &photo).await;
    assert_eq!(status, 201, "{image}");
    let urls = thumbnail_urls(&image);
    let mut found = Vec::new();
    for url in &urls {
        assert!(url.starts_with(&app.address), "absolute: {url}");
        let (kind, dimensions, bytes) = fetch(&app, url).await;
        assert_eq!(kind, "image/jpeg");
        assert!(!has_exif(&bytes), "{url} has no EXIF");
        found.push(dimensions);
    }
    // Turned upright: the stored 1600 × 1200 shows 1200 wide and 1600 high.
    assert_eq!(found, [(150, 200), (360, 480), (810, 1080)]);
    let (_, original, _) = fetch(&app, image["image"].as_str().expect("url")).await;
    assert_eq!(original, (1600, 1200), "the upload is kept as it was sent");

    let (_, detail) = app.get(&format!("/api/products/{id}/")).await;
    assert_eq!(detail["images"][0]["thumbnails"], image["thumbnails"]);
    assert_eq!(media_files(&app).len(), 4, "the upload and three sizes");
}

#[tokio::test]
async fn a_small_image_is_never_upscaled() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Pin", "1.00", 1).await;
    let (status, image) = upload(&app, &staff, id, &jpeg(100, 80, None)).await;
    assert_eq!(status, 201, "{image}");
    for url in thumbnail_urls(&image) {
        assert_eq!(fetch(&app, &url).await.1, (100, 80), "{url}");
    }
    // A transparent PNG keeps its transparency: its sizes are PNG.
    let (status, image) = upload(&app, &staff, id, PNG).await;
    assert_eq!(status, 201, "{image}");
    let (kind, dimensions, _) = fetch(&app, &thumbnail_urls(&image)[0]).await;
    assert_eq!((kind.as_str(), dimensions), ("image/png", (1, 1)));
}

#[tokio::test]
async fn pixels_that_do_not_decode_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Vase", "12.00", 1).await;
    let whole = jpeg(640, 480, None);
    let truncated = whole[..whole.len() / 2].to_vec();
    let mut garbage = whole[..whole.len() / 4].to_vec();
    garbage.extend((0..whole.len()).map(|n| u8::try_from((n * 7919) % 256).unwrap_or(0)));
    let mut png = gradient_png(640, 480);
    png.truncate(png.len() / 2);

    for (name, file) in [("truncated", truncated), ("garbage", garbage), ("png", png)] {
        let (status, body) = upload(&app, &staff, id, &file).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body, json!({"image": [NOT_AN_IMAGE]}), "{name}");
    }
    assert_eq!(image_rows(&app).await, 0);
    assert_eq!(media_files(&app), Vec::<String>::new());
}

#[tokio::test]
async fn images_over_the_limits_are_refused_before_they_are_decoded() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Rug", "80.00", 1).await;
    let over = |body: &Value| body["image"][0].as_str().unwrap_or_default().to_owned();

    // A header that claims 50 megapixels: refused from the header, nothing read further.
    let (status, body) = upload(&app, &staff, id, &claiming(PNG, 10_000, 5_000)).await;
    assert_eq!(status, 400, "{body}");
    assert!(over(&body).contains("at most 40 megapixels"), "{body}");
    assert!(over(&body).contains("10000 × 5000"), "{body}");

    // A real bomb: 8000 × 6000 (48 megapixels) of grey in a few kilobytes.
    let bomb = zero_png(8000, 6000, 1, 0);
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    let (status, body) = upload(&app, &staff, id, &bomb).await;
    assert_eq!(status, 400, "{body}");
    assert!(over(&body).contains("8000 × 6000"), "{body}");

    // 36 megapixels is within the rule, but at 16 bits × RGBA it would take 288 MB: refused
    // by the decoder's allocation limit before its buffer exists.
    let deep = zero_png(6000, 6000, 16, 6);
    assert!(deep.len() < 5 * 1024 * 1024, "{} bytes", deep.len());
    let (status, body) = upload(&app, &staff, id, &deep).await;
    assert_eq!(status, 400, "{body}");
    assert!(over(&body).contains("too large to process"), "{body}");
    assert_eq!(image_rows(&app).await, 0);
    assert_eq!(media_files(&app), Vec::<String>::new());

    // The same 36 megapixels in 8-bit grey decodes within the limits.
    let (status, image) = upload(&app, &staff, id, &zero_png(6000, 6000, 1, 0)).await;
    assert_eq!(status, 201, "{image}");
    let (_, large, _) = fetch(&app, &thumbnail_urls(&image)[2]).await;
    assert_eq!(large, (1080, 1080));
}

#[tokio::test]
async fn uploads_beyond_the_image_workers_and_their_line_get_503() {
    let app = spawn(Spawn {
        settings: vec![
            ("EMPORIUM_IMAGE_WORKERS", "1".to_owned()),
            ("EMPORIUM_IMAGE_QUEUE", "0".to_owned()),
        ],
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Chair", "45.00", 1).await;
    let photo = jpeg(4000, 3000, None);
    let path = format!("/api/products/{id}/images/");
    let answers = burst(6, |_| {
        app.request(Method::POST, &path, Some(&staff))
            .multipart(form(&photo))
    })
    .await;
    let (made, refused) = (count(&answers, 201), count(&answers, 503));
    assert!(made >= 1 && refused >= 1, "{made} made, {refused} refused");
    assert_eq!(made + refused, answers.len());
    for answer in answers.iter().filter(|a| a.status == 503) {
        assert_eq!(answer.retry_after.as_deref(), Some("1"));
    }
    let rows = usize::try_from(image_rows(&app).await).expect("small");
    assert_eq!(rows, made);
    assert_eq!(media_files(&app).len(), 4 * made, "nothing of the refused");
}

#[tokio::test]
async fn deleting_an_image_deletes_its_sizes() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Bowl", "9.00", 1).await;
    let (_, image) = upload(&app, &staff, id, &jpeg(800, 600, None)).await;
    let (_, other) = upload(&app, &staff, id, &jpeg(300, 300, None)).await;
    assert_eq!(media_files(&app).len(), 8);

    let path = format!("/api/products/{id}/images/{}/", image["id"]);
    assert_eq!(app.delete(&path, Some(&staff)).await.0, 204);
    let mut urls = thumbnail_urls(&image).to_vec();
    urls.push(image["image"].as_str().expect("url").to_owned());
    for url in urls {
        let status = app.client.get(&url).send().await.expect("sent").status();
        assert_eq!(status, 404, "{url}");
    }
    assert_eq!(media_files(&app).len(), 4, "the other image's files stay");

    // Deleting the product deletes its images' sizes too.
    assert_eq!(
        app.delete(&format!("/api/products/{id}/"), Some(&staff))
            .await
            .0,
        204
    );
    assert_eq!(media_files(&app), Vec::<String>::new(), "{other}");
}

/// Stores `file` and its row as a version without sizes did.
async fn old_image(app: &TestApp, product_id: i64, file: Vec<u8>) -> product_image::Model {
    let key = emporium::storage::Storage::new_key("products", "jpg");
    app.state
        .storage
        .put(&key, file.into())
        .await
        .expect("stored");
    product_image::ActiveModel {
        product_id: Set(product_id),
        storage_key: Set(key),
        is_primary: Set(false),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("inserted")
}

#[tokio::test]
async fn the_job_makes_the_sizes_of_images_stored_before_sizes_existed() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Clock", "25.00", 1).await;
    let old = old_image(&app, id, jpeg(1200, 900, Some(6))).await;
    let broken = old_image(&app, id, b"\xff\xd8\xff\xe0 not a jpeg".to_vec()).await;

    // Until the job has run, every size is the original.
    let (_, detail) = app.get(&format!("/api/products/{id}/")).await;
    let shown = &detail["images"][0];
    let original = shown["image"].as_str().expect("url").to_owned();
    assert_eq!(thumbnail_urls(shown), [0, 1, 2].map(|_| original.clone()));

    let ctx = JobContext {
        state: app.state.clone(),
        job_id: 0,
        attempt: 1,
    };
    run_job::<MakeImageSizes>(ctx.clone(), json!({}))
        .await
        .expect("ran");
    let (_, detail) = app.get(&format!("/api/products/{id}/")).await;
    let shown = &detail["images"][0];
    assert_eq!(shown["id"], old.id);
    let mut found = Vec::new();
    for url in thumbnail_urls(shown) {
        let (kind, dimensions, bytes) = fetch(&app, &url).await;
        assert_eq!(kind, "image/jpeg");
        assert!(!has_exif(&bytes));
        found.push(dimensions);
    }
    assert_eq!(found, [(150, 200), (360, 480), (810, 1080)]);
    // The one that does not decode keeps its original for each size, and is not tried again.
    let kept = product_image::Entity::find_by_id(broken.id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(kept.large_key.as_deref(), Some(broken.storage_key.as_str()));
    assert_eq!(media_files(&app).len(), 5);
    run_job::<MakeImageSizes>(ctx, json!({}))
        .await
        .expect("ran again, idle");
    assert_eq!(media_files(&app).len(), 5);
}

#[tokio::test]
async fn an_upgraded_shop_gets_the_sizes_without_anyone_running_anything() {
    let media = tempfile::tempdir().expect("folder");
    let root = media.path().display().to_string();
    let old = spawn(Spawn {
        no_worker: true,
        settings: vec![("EMPORIUM_MEDIA_ROOT", root.clone())],
        ..Spawn::default()
    })
    .await;
    let staff = old.staff_token().await;
    let id = product(&old, &staff, "Mirror", "60.00", 1).await;
    let image = old_image(&old, id, jpeg(640, 480, None)).await;

    // The new version starts on the same database and media: its worker runs the job at once.
    let new = spawn(Spawn {
        database: Some(TestDatabase::shared(old.db_url())),
        settings: vec![("EMPORIUM_MEDIA_ROOT", root)],
        ..Spawn::default()
    })
    .await;
    let sized = eventually(Duration::from_secs(20), || async {
        product_image::Entity::find_by_id(image.id)
            .one(&new.state.db)
            .await
            .ok()
            .flatten()
            .is_some_and(|row| row.small_key.is_some())
    })
    .await;
    assert!(sized, "the worker made the sizes");
    let (_, detail) = new.get(&format!("/api/products/{id}/")).await;
    let (_, small, _) = fetch(&new, &thumbnail_urls(&detail["images"][0])[0]).await;
    assert_eq!(small, (200, 150));
}
