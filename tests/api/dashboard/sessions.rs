//! Who gets in, and when a session ends.

use chrono::TimeDelta;
use emporium::auth::user;
use emporium::dashboard::admin_session;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use super::{Browser, new_staff, signed_in};
use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn pages_send_anonymous_visitors_to_sign_in_and_come_back_only_to_the_dashboard() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    for path in ["/admin/", "/admin/orders/?status=PAID"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(
            page.location()
                .starts_with("/admin/login/?next=%2Fadmin%2F"),
            "{}",
            page.location()
        );
    }
    // A customer's bearer token is not a way in.
    let customer = app.customer_token().await;
    let response = app
        .client
        .get(app.url("/admin/"))
        .bearer_auth(&customer)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 303);

    let email = new_staff(&app).await;
    let form = browser.get("/admin/login/").await;
    let csrf = form.csrf();
    let page = browser
        .post(
            "/admin/login/",
            &[
                ("csrf", &csrf),
                ("email", &email),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(
        (page.status, page.location()),
        (303, "/admin/"),
        "another site is not returned to"
    );
}

#[tokio::test]
async fn only_staff_sign_in_and_the_session_cookie_is_locked_down() {
    let app = spawn_app().await;
    let (status, _) = app
        .post(
            "/api/auth/register/",
            None,
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201);
    let mut browser = Browser::new(&app);
    let page = browser.sign_in_as("ada@example.com", PASSWORD).await;
    assert_eq!(page.status, 403);
    assert!(
        page.body.contains("This is not a staff account."),
        "{}",
        page.body
    );
    assert!(!browser.cookies.contains_key("emporium_admin"));
    assert_eq!(
        admin_session::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count"),
        0
    );

    let page = browser
        .sign_in_as("ada@example.com", "wrong password")
        .await;
    assert_eq!(page.status, 401);

    let email = new_staff(&app).await;
    let page = browser.sign_in_as(&email, PASSWORD).await;
    assert_eq!(page.status, 303);
    let cookie = page
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("emporium_admin="))
        .expect("session cookie")
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let stored = admin_session::Entity::find()
        .one(&app.state.db)
        .await
        .expect("row")
        .expect("a session");
    let token = cookie
        .trim_start_matches("emporium_admin=")
        .split(';')
        .next()
        .unwrap_or("");
    assert_ne!(stored.id, token, "the table keeps a digest, not the token");

    let overview = browser.get("/admin/").await;
    assert_eq!(overview.status, 200);
    let csp = overview
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok());
    assert!(
        csp.is_some_and(|c| c.starts_with("default-src 'self'")),
        "{csp:?}"
    );
    assert_eq!(
        overview
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert!(!overview.body.contains("<script>"), "no inline script");
    let missing = browser.get("/admin/no-such-page/").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("Not found.")
            && missing.headers.contains_key("content-security-policy"),
        "the dashboard's own page, with its headers"
    );
    let too_big = browser
        .get("/admin/variants/99999999999999999999/movements/")
        .await;
    assert_eq!(too_big.status, 400);
    assert!(
        too_big.body.contains("not one the dashboard understands")
            && too_big.headers.contains_key("content-security-policy"),
        "a page, not the API's JSON: {}",
        too_big.body
    );
}

#[tokio::test]
async fn a_sign_in_without_the_form_s_token_or_from_another_site_is_refused() {
    let app = spawn_app().await;
    let email = new_staff(&app).await;
    let mut browser = Browser::new(&app);
    let page = browser
        .post(
            "/admin/login/",
            &[("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 403, "no token at all");
    let csrf = browser.get("/admin/login/").await.csrf();
    let page = browser
        .post(
            "/admin/login/",
            &[
                ("csrf", "x".repeat(43).as_str()),
                ("email", &email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 403, "a token that is not the cookie's");
    let page = browser
        .post_from(
            "/admin/login/",
            &[("csrf", &csrf), ("email", &email), ("password", PASSWORD)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(page.status, 403, "another origin");
    assert_eq!(
        admin_session::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_like_the_api_s_logins() {
    let app = spawn_app().await;
    let email = new_staff(&app).await;
    let mut browser = Browser::new(&app);
    let limit = app.state.settings.login_max_failures;
    for _ in 0..limit {
        assert_eq!(browser.sign_in_as(&email, "wrong").await.status, 401);
    }
    let page = browser.sign_in_as(&email, PASSWORD).await;
    assert_eq!(page.status, 429, "the right password too, while locked");
    assert!(page.body.contains("Too many attempts"), "{}", page.body);
    let retry_after: u64 = page
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After, as the API's login sends it");
    assert!(retry_after > 0);
}

#[tokio::test]
async fn sign_out_needs_the_token_and_ends_the_session_for_good() {
    let app = spawn_app().await;
    let (mut browser, _) = signed_in(&app).await;
    let saved = browser.cookies.clone();
    let page = browser.post("/admin/logout/", &[]).await;
    assert_eq!(page.status, 403, "no token");
    assert_eq!(browser.get("/admin/").await.status, 200, "still signed in");

    let csrf = browser.csrf().await;
    let page = browser.post("/admin/logout/", &[("csrf", &csrf)]).await;
    assert_eq!((page.status, page.location()), (303, "/admin/login/"));
    assert!(
        !browser.cookies.contains_key("emporium_admin"),
        "the cookie is cleared"
    );
    browser.cookies = saved;
    assert_eq!(
        browser.get("/admin/").await.status,
        303,
        "the old cookie is dead"
    );
    assert_eq!(
        admin_session::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn a_password_change_demotion_deactivation_or_12_hours_idle_ends_a_session() {
    let app = spawn_app().await;
    let db = &app.state.db;

    let (mut browser, email) = signed_in(&app).await;
    let token = app.access_token(&email, PASSWORD).await;
    let (status, body) = app
        .post(
            "/api/auth/password/change/",
            Some(&token),
            json!({"old_password": PASSWORD, "new_password": "a brand new passphrase 42"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(browser.get("/admin/").await.status, 303, "password changed");

    for change in ["demoted", "deactivated"] {
        let (mut browser, email) = signed_in(&app).await;
        let column = if change == "demoted" {
            user::Column::IsStaff
        } else {
            user::Column::IsActive
        };
        user::Entity::update_many()
            .col_expr(column, Expr::value(false))
            .filter(user::Column::Email.eq(email.as_str()))
            .exec(db)
            .await
            .expect("update");
        assert_eq!(browser.get("/admin/").await.status, 303, "{change}");
    }

    let (mut browser, _) = signed_in(&app).await;
    let long_ago = emporium::time::now() - TimeDelta::hours(12) - TimeDelta::minutes(1);
    admin_session::Entity::update_many()
        .col_expr(
            admin_session::Column::LastSeenAt,
            Expr::value(emporium::db::timestamp_value(
                db.get_database_backend(),
                Some(long_ago),
            )),
        )
        .exec(db)
        .await
        .expect("age");
    assert_eq!(
        browser.get("/admin/").await.status,
        303,
        "idle for 12 hours"
    );
}
