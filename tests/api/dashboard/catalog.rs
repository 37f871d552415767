//! The catalog in the dashboard: a product with options and its variants made at once, stock
//! adjusted once however often the form is posted, and the catalog's rules in the forms.

use emporium::catalog::{stock_movement, variant};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::signed_in;
use crate::fixtures::{category_of, product};
use crate::helpers::{TestApp, spawn_app};
use serde_json::json;

async fn variants_of(app: &TestApp, product_id: i64) -> Vec<variant::Model> {
    variant::Entity::find()
        .filter(variant::Column::ProductId.eq(product_id))
        .all(&app.state.db)
        .await
        .expect("variants")
}

#[tokio::test]
async fn a_product_with_options_gets_every_combination_at_once() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = category_of(&app, &staff, json!({"name": "Apparel"})).await;
    let (mut browser, _) = signed_in(&app).await;
    let csrf = browser.csrf().await;
    let category = category.to_string();
    let page = browser
        .post(
            "/admin/products/new/",
            &[
                ("csrf", &csrf),
                ("name", "Tee"),
                ("category", &category),
                ("price", "5.00"),
                ("is_active", "true"),
                ("option1_name", "Size"),
                ("option1_values", "S, M"),
            ],
        )
        .await;
    assert_eq!(page.status, 400, "price beside options: the API's rule");
    assert!(page.body.contains("price-errors") || page.body.contains("role=\"alert\""));

    let page = browser
        .post(
            "/admin/products/new/",
            &[
                ("csrf", &csrf),
                ("name", "Tee"),
                ("category", &category),
                ("is_active", "true"),
                ("option1_name", "Size"),
                ("option1_values", "S, M, L"),
                ("option2_name", "Colour"),
                ("option2_values", "Red, Blue"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let id: i64 = page
        .location()
        .trim_start_matches("/admin/products/")
        .split('/')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the product's page");
    let path = format!("/admin/products/{id}/combinations/");
    let form = [
        ("csrf", csrf.as_str()),
        ("sku_prefix", "TEE"),
        ("price", "9.50"),
        ("stock", "4"),
    ];
    let page = browser.post(&path, &form).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let made = variants_of(&app, id).await;
    assert_eq!(made.len(), 6);
    assert!(made.iter().all(|v| v.price == 950 && v.stock == 4));
    assert!(made.iter().any(|v| v.sku == "TEE-M-Blue"));
    let page = browser.get(&format!("/admin/products/{id}/")).await;
    assert!(
        !page.body.contains("/combinations/"),
        "none missing any more"
    );
}

#[tokio::test]
async fn a_stock_form_posted_twice_moves_the_stock_once_and_never_below_zero() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Boot", "10.00", 5).await;
    let variant_id = variants_of(&app, id).await[0].id;
    let (mut browser, _) = signed_in(&app).await;
    let page = browser.get(&format!("/admin/products/{id}/")).await;
    let csrf = page.csrf();
    let key = page.form_key();
    let path = format!("/admin/variants/{variant_id}/stock/");

    let form = [
        ("csrf", csrf.as_str()),
        ("key", &key),
        ("delta", "-2"),
        ("reason", "damaged"),
    ];
    assert_eq!(browser.post(&path, &form).await.status, 303);
    assert_eq!(
        browser.post(&path, &form).await.status,
        303,
        "the same form again"
    );
    assert_eq!(variants_of(&app, id).await[0].stock, 3, "moved once");
    let movements = stock_movement::Entity::find()
        .filter(stock_movement::Column::VariantId.eq(variant_id))
        .filter(stock_movement::Column::Reason.eq("damaged"))
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(movements, 1);
    // The same key with another number (the back button, a number changed) is not "done".
    let changed = [
        ("csrf", csrf.as_str()),
        ("key", &key),
        ("delta", "-1"),
        ("reason", "damaged"),
    ];
    let page = browser.post(&path, &changed).await;
    assert_eq!(page.status, 409);
    assert!(
        page.body.contains("sent before with other values"),
        "{}",
        page.body
    );
    assert_eq!(variants_of(&app, id).await[0].stock, 3, "nothing changed");

    let page = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("key", "another"),
                ("delta", "-9"),
                ("reason", "lost"),
            ],
        )
        .await;
    assert_eq!(page.status, 409);
    assert!(
        page.body.contains("Stock cannot go below 0"),
        "the catalog's refusal beside the form"
    );
    assert_eq!(variants_of(&app, id).await[0].stock, 3);

    let page = browser
        .post(&path, &[("key", "k"), ("delta", "5"), ("reason", "x")])
        .await;
    assert_eq!(page.status, 403, "no token");
    assert_eq!(variants_of(&app, id).await[0].stock, 3);
    let page = browser
        .get(&format!("/admin/variants/{variant_id}/movements/"))
        .await;
    assert!(page.body.contains("damaged"));
}

#[tokio::test]
async fn an_upload_needs_the_token_before_its_file_is_read() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Boot", "10.00", 5).await;
    let (browser, _) = signed_in(&app).await;
    let cookie = browser.cookie_header();
    let form = reqwest::multipart::Form::new()
        .part(
            "image",
            reqwest::multipart::Part::bytes(vec![0u8; 16]).file_name("x.png"),
        )
        .text("csrf", "wrong");
    let response = app
        .client
        .post(app.url(&format!("/admin/products/{id}/images/")))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn a_creation_form_posted_twenty_times_at_once_creates_once() {
    use emporium::catalog::product as product_row;
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let category = category_of(&app, &staff, json!({"name": "Boots"})).await;
    let (mut browser, _) = signed_in(&app).await;
    let page = browser.get("/admin/products/new/").await;
    let csrf = page.csrf();
    let key = page.form_key();
    let cookie = browser.cookie_header();
    let category = category.to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("name", "Hiking boot"),
        ("category", category.as_str()),
        ("price", "80.00"),
        ("is_active", "true"),
    ];
    let body = serde_urlencoded::to_string(form).expect("form");
    let answers = crate::helpers::burst(20, |_| {
        app.client
            .post(app.url("/admin/products/new/"))
            .header("cookie", cookie.clone())
            .header("origin", app.url("").trim_end_matches('/'))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
    })
    .await;
    assert!(
        answers.iter().all(|a| a.status == 303 || a.status == 409),
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let made = product_row::Entity::find()
        .filter(product_row::Column::Name.eq("Hiking boot"))
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(made, 1, "created once");
    // Once more, after all of them: the first answer again, nothing new.
    let again = browser.post("/admin/products/new/", &form).await;
    assert_eq!(again.status, 303);
    assert!(again.location().starts_with("/admin/products/"));
    // The same key with another name is refused and creates nothing.
    let mut changed = form;
    changed[2] = ("name", "Another boot");
    let refused = browser.post("/admin/products/new/", &changed).await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("sent before with other values"));
    let total = product_row::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(total, 1);
}

#[tokio::test]
async fn an_upload_posted_twice_with_its_page_s_key_adds_one_image() {
    use emporium::catalog::product_image;
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let id = product(&app, &staff, "Boot", "10.00", 5).await;
    let (mut browser, _) = signed_in(&app).await;
    let page = browser.get(&format!("/admin/products/{id}/")).await;
    let csrf = page.csrf();
    let key = page.value_after("/images/?key=");
    let cookie = browser.cookie_header();
    let image = crate::image_files::jpeg(40, 30, None);
    for _ in 0..2 {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "image",
                reqwest::multipart::Part::bytes(image.clone()).file_name("boot.jpg"),
            );
        let response = app
            .client
            .post(app.url(&format!("/admin/products/{id}/images/?key={key}")))
            .header("cookie", cookie.clone())
            .header("origin", app.url("").trim_end_matches('/'))
            .multipart(form)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 303);
    }
    let images = product_image::Entity::find()
        .filter(product_image::Column::ProductId.eq(id))
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(images, 1, "the second post got the first's answer");
}
