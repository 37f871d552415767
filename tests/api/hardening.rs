//! What an attacker or a busy app would try: reading secrets where staff or a backup can,
//! racing throttles, flooding the password hasher, retrying refreshes, hammering the API, and
//! growing the server's memory with labels and rows.

use crate::helpers::run_job;
use emporium::jobs::Job;
use std::time::Duration;

use emporium::accounts::{refresh_token, reset_token, sessions};
use emporium::auth::user;
use emporium::jobs::{JobContext, job, queue};
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{app_with_mail, login, refresh, reset_code_in, signed_up};
use crate::helpers::{
    PASSWORD, Spawn, TestApp, burst, count, eventually, json, shared_redis, spawn, spawn_app, with,
};
use crate::standins::SmtpServer;

// 1. Reset codes are secret.

async fn request_reset(app: &TestApp, email: &str) {
    let (status, _) = app
        .post("/api/auth/password/reset/", None, json!({"email": email}))
        .await;
    assert_eq!(status, 204);
}

/// Waits for the `n`th mail and returns the code in it.
async fn nth_code(smtp: &SmtpServer, n: usize) -> String {
    assert!(
        eventually(Duration::from_secs(15), || async {
            smtp.messages().len() >= n
        })
        .await,
        "mail {n} never came"
    );
    reset_code_in(&smtp.messages()[n - 1])
}

async fn confirm_reset(app: &TestApp, code: &str, password: &str) -> (u16, Value) {
    app.post(
        "/api/auth/password/reset/confirm/",
        None,
        json!({"token": code, "new_password": password}),
    )
    .await
}

#[tokio::test]
async fn a_reset_code_is_in_no_table_no_job_and_no_staff_answer() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp, &[]).await;
    signed_up(&app, "ada@example.com").await;
    let staff = app.staff_token().await;
    request_reset(&app, "ada@example.com").await;
    let code = nth_code(&smtp, 1).await;

    let (status, jobs) = app
        .get_as("/api/admin/jobs/?page_size=100", Some(&staff))
        .await;
    assert_eq!(status, 200);
    assert!(jobs["count"].as_u64().expect("count") >= 1);
    assert!(!jobs.to_string().contains(&code), "staff can read the code");

    let rows = job::Entity::find().all(&app.state.db).await.expect("jobs");
    for row in &rows {
        let stored = format!("{} {:?}", row.payload, row.last_error);
        assert!(!stored.contains(&code), "a job holds the code: {stored}");
    }
    assert!(
        rows.iter()
            .all(|row| row.kind.as_str() != <emporium::email::job::SendEmail as Job>::KIND),
        "the code was handed to a mail job"
    );
    let codes = reset_token::Entity::find()
        .all(&app.state.db)
        .await
        .expect("codes");
    assert_eq!(codes.len(), 1);
    assert!(codes.iter().all(|row| row.token_hash != code));
    assert!(format!("{codes:?}").find(&code).is_none());

    let (status, _) = confirm_reset(&app, &code, "Tr1cky-Quokka-Harbour").await;
    assert_eq!(status, 204, "the mailed code works");
}

#[tokio::test]
async fn reset_codes_die_with_a_password_change_or_another_completed_reset() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp, &[]).await;
    let (access, _) = signed_up(&app, "ada@example.com").await;

    request_reset(&app, "ada@example.com").await;
    let before_change = nth_code(&smtp, 1).await;
    let (status, _) = app
        .post(
            "/api/auth/password/change/",
            Some(&access),
            json!({"old_password": PASSWORD, "new_password": "Tr1cky-Quokka-Harbour"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = confirm_reset(&app, &before_change, "Another-Fine-Walrus").await;
    assert_eq!(
        (status, body),
        (400, json!({"token": ["Invalid or expired token."]}))
    );

    request_reset(&app, "ada@example.com").await;
    let first = nth_code(&smtp, 2).await;
    request_reset(&app, "ada@example.com").await;
    let second = nth_code(&smtp, 3).await;
    assert_ne!(first, second);
    assert_eq!(
        confirm_reset(&app, &second, "Another-Fine-Walrus").await.0,
        204
    );
    assert_eq!(
        confirm_reset(&app, &first, "Yet-Another-Pelican").await.0,
        400,
        "an older code outlived the reset"
    );
    assert_eq!(
        login(&app, "ada@example.com", "Another-Fine-Walrus")
            .await
            .0,
        200
    );
}

// 2. Throttles count before they decide.

#[tokio::test]
async fn a_login_burst_on_one_account_checks_no_more_passwords_than_the_limit() {
    let app = spawn(with(&[("EMPORIUM_LOGIN_MAX_FAILURES", "5")])).await;
    signed_up(&app, "ada@example.com").await;
    let answers = burst(64, |_| {
        app.request(Method::POST, "/api/auth/login/", None)
            .json(&json!({"email": "ada@example.com", "password": "wrong horse battery"}))
    })
    .await;
    assert_eq!(count(&answers, 401), 5, "password checks: {answers:?}");
    assert_eq!(count(&answers, 429), 59);
    assert!(
        answers
            .iter()
            .filter(|a| a.status == 429)
            .all(|a| a.retry_after.is_some())
    );
    assert_eq!(login(&app, "ada@example.com", PASSWORD).await.0, 429);
}

#[tokio::test]
async fn a_login_burst_from_one_client_over_many_accounts_is_bounded_per_client() {
    let app = spawn(with(&[("EMPORIUM_LOGIN_MAX_FAILURES", "2")])).await;
    let answers = burst(40, |n| {
        app.request(Method::POST, "/api/auth/login/", None)
            .json(&json!({"email": format!("user{n}@example.com"), "password": "whatever-it-is"}))
    })
    .await;
    assert_eq!(count(&answers, 401), 8, "{answers:?}");
    assert_eq!(count(&answers, 429), 32);
}

#[tokio::test]
async fn a_successful_login_does_not_use_up_the_client_budget() {
    let app = spawn(with(&[("EMPORIUM_LOGIN_MAX_FAILURES", "1")])).await;
    signed_up(&app, "ada@example.com").await;
    // The client may fail 4 times; ten good logins in between must not count against it.
    for _ in 0..10 {
        assert_eq!(login(&app, "ada@example.com", PASSWORD).await.0, 200);
    }
    for n in 0..4 {
        let (status, _) = login(&app, &format!("x{n}@example.com"), "nope-nope-nope").await;
        assert_eq!(status, 401);
    }
    assert_eq!(login(&app, "ada@example.com", PASSWORD).await.0, 429);
}

#[tokio::test]
async fn ipv6_clients_are_counted_per_64() {
    let app = spawn(with(&[
        ("EMPORIUM_LOGIN_MAX_FAILURES", "1"),
        ("EMPORIUM_TRUSTED_PROXIES", "127.0.0.1"),
    ]))
    .await;
    let from = |ip: &str, n: usize| {
        app.request(Method::POST, "/api/auth/login/", None)
            .header("x-forwarded-for", ip)
            .json(&json!({"email": format!("v6-{n}@example.com"), "password": "nope-nope-nope"}))
    };
    // Four failures (the client limit) from four addresses of one /64 …
    for (n, ip) in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2:ffff::3",
        "2001:db8:1:2::4",
    ]
    .iter()
    .enumerate()
    {
        let status = from(ip, n).send().await.expect("sent").status().as_u16();
        assert_eq!(status, 401);
    }
    // … lock a fifth address of it, and no address of the next /64.
    let status = from("2001:db8:1:2:abcd::9", 9)
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(status.as_u16(), 429);
    let status = from("2001:db8:1:3::1", 10)
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(status.as_u16(), 401);
}

#[tokio::test]
async fn a_reset_request_burst_sends_no_more_mails_than_the_limit() {
    let app = spawn_app().await;
    let answers = burst(30, |_| {
        app.request(Method::POST, "/api/auth/password/reset/", None)
            .json(&json!({"email": "ada@example.com"}))
    })
    .await;
    assert_eq!(count(&answers, 204), 3, "{answers:?}");
    assert_eq!(count(&answers, 429), 27);
    let queued = job::Entity::find()
        .filter(job::Column::Kind.eq(<emporium::accounts::reset::PasswordReset as Job>::KIND))
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(queued, 3);
}

// 3. Password hashing is a bounded resource.

#[tokio::test]
async fn a_registration_flood_gets_503_beyond_the_hashing_slots_and_stores_only_the_accepted() {
    let app = spawn(with(&[
        ("EMPORIUM_HASH_CONCURRENCY", "1"),
        ("EMPORIUM_HASH_QUEUE", "1"),
        ("EMPORIUM_THROTTLE_REGISTER", "off"),
    ]))
    .await;
    let answers = burst(24, |n| {
        app.request(Method::POST, "/api/auth/register/", None)
            .json(&json!({"email": format!("flood{n}@example.com"), "password": PASSWORD}))
    })
    .await;
    let created = count(&answers, 201);
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(!refused.is_empty(), "no request was refused: {answers:?}");
    assert_eq!(created + refused.len(), 24, "{answers:?}");
    for answer in &refused {
        assert_eq!(answer.retry_after.as_deref(), Some("1"));
        assert_eq!(
            answer.body["detail"],
            "Service temporarily unavailable, try again later."
        );
    }
    let stored = user::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(stored, u64::try_from(created).expect("small"));
    assert_eq!(app.get("/health/").await.0, 200);
}

#[tokio::test]
async fn registration_is_throttled_per_client_address_even_in_parallel() {
    let app = spawn(with(&[("EMPORIUM_THROTTLE_REGISTER", "3/hour")])).await;
    let answers = burst(12, |n| {
        app.request(Method::POST, "/api/auth/register/", None)
            .json(&json!({"email": format!("r{n}@example.com"), "password": PASSWORD}))
    })
    .await;
    assert_eq!(count(&answers, 201), 3, "{answers:?}");
    assert_eq!(count(&answers, 429), 9);
}

// 4. Refresh rotation survives an app's retry.

#[tokio::test]
async fn parallel_refreshes_of_one_token_all_get_a_usable_pair_of_the_family() {
    let app = spawn_app().await;
    let (_, token) = signed_up(&app, "ada@example.com").await;
    let answers = burst(8, |_| {
        app.request(Method::POST, "/api/auth/refresh/", None)
            .json(&json!({"refresh": token}))
    })
    .await;
    assert_eq!(count(&answers, 200), 8, "{answers:?}");
    let refreshed: Vec<&str> = answers
        .iter()
        .map(|a| a.body["refresh"].as_str().expect("refresh"))
        .collect();
    assert!(
        refreshed.iter().all(|r| *r == refreshed[0]),
        "every answer holds the one live token of the family"
    );
    for answer in &answers {
        let access = answer.body["access"].as_str().expect("access");
        let (status, _) = app.get_as("/api/auth/me/", Some(access)).await;
        assert_eq!(status, 200);
    }
    let (status, next) = refresh(&app, refreshed[0]).await;
    assert_eq!(status, 200, "the family survived: {next}");
    let live = refresh_token::Entity::find()
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::UsedAt.is_null())
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(live, 1);
}

#[tokio::test]
async fn an_older_generation_within_the_grace_still_revokes_the_family() {
    let app = spawn_app().await;
    let (_, first) = signed_up(&app, "ada@example.com").await;
    let (_, second) = refresh(&app, &first).await;
    let second = second["refresh"].as_str().expect("refresh").to_owned();
    let (_, third) = refresh(&app, &second).await;
    let third = third["refresh"].as_str().expect("refresh").to_owned();
    let (status, body) = refresh(&app, &first).await;
    assert_eq!((status, &body["code"]), (401, &json!("token_not_valid")));
    assert_eq!(refresh(&app, &third).await.0, 401, "the family is revoked");
}

#[tokio::test]
async fn a_retry_after_logout_is_refused() {
    let app = spawn_app().await;
    let (_, first) = signed_up(&app, "ada@example.com").await;
    let (_, second) = refresh(&app, &first).await;
    let second = second["refresh"].as_str().expect("refresh").to_owned();
    let (status, _) = app
        .post("/api/auth/logout/", None, json!({"refresh": second}))
        .await;
    assert_eq!(status, 205);
    assert_eq!(refresh(&app, &first).await.0, 401);
}

// 5. API rate limits.

#[tokio::test]
async fn anonymous_requests_over_the_rate_get_429_in_drf_form() {
    let app = spawn(with(&[("EMPORIUM_THROTTLE_ANON", "5/min")])).await;
    for _ in 0..5 {
        assert_eq!(app.get("/api/categories/").await.0, 200);
    }
    let response = app.get_response("/api/products/").await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after));
    let (status, body) = json(response).await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"detail": format!("Request was throttled. Expected available in {retry_after} second{}.",
            if retry_after == 1 { "" } else { "s" })})
    );
    for path in ["/health/", "/ready/", "/metrics"] {
        for _ in 0..10 {
            assert_eq!(
                app.get_response(path).await.status(),
                200,
                "{path} is never throttled"
            );
        }
    }
    for _ in 0..3 {
        let status = app
            .post_bytes_response("/api/payments/webhook/", "application/json", b"{}".to_vec())
            .await
            .status();
        assert_ne!(status, 429, "webhooks are never throttled");
    }
}

#[tokio::test]
async fn a_parallel_burst_gets_exactly_the_rate() {
    let app = spawn(with(&[("EMPORIUM_THROTTLE_ANON", "10/min")])).await;
    let answers = burst(30, |_| app.request(Method::GET, "/api/categories/", None)).await;
    assert_eq!(count(&answers, 200), 10, "{answers:?}");
    assert_eq!(count(&answers, 429), 20);
}

#[tokio::test]
async fn each_user_has_a_rate_of_their_own() {
    let app = spawn(with(&[
        ("EMPORIUM_THROTTLE_ANON", "off"),
        ("EMPORIUM_THROTTLE_USER", "3/min"),
    ]))
    .await;
    let (ada, _) = signed_up(&app, "ada@example.com").await;
    let (bob, _) = signed_up(&app, "bob@example.com").await;
    for _ in 0..3 {
        assert_eq!(app.get_as("/api/auth/me/", Some(&ada)).await.0, 200);
    }
    let (status, body) = app.get_as("/api/auth/me/", Some(&ada)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(app.get_as("/api/auth/me/", Some(&bob)).await.0, 200);
    assert_eq!(app.get("/api/categories/").await.0, 200, "anonymous is off");
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn rate_limits_are_shared_between_nodes_through_redis() {
    let settings = shared_redis(&[
        ("EMPORIUM_THROTTLE_ANON", "6/min"),
        ("EMPORIUM_LOGIN_MAX_FAILURES", "3"),
    ]);
    let node = || Spawn {
        settings: settings.clone(),
        ..Spawn::default()
    };
    let a = spawn(node()).await;
    let b = spawn(node()).await;
    let answers_a = burst(9, |_| a.request(Method::GET, "/api/categories/", None)).await;
    let answers_b = burst(9, |_| b.request(Method::GET, "/api/categories/", None)).await;
    assert_eq!(
        count(&answers_a, 200) + count(&answers_b, 200),
        6,
        "{answers_a:?} {answers_b:?}"
    );
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn a_login_burst_through_redis_checks_no_more_passwords_than_the_limit() {
    let settings = shared_redis(&[("EMPORIUM_LOGIN_MAX_FAILURES", "5")]);
    let node = || Spawn {
        settings: settings.clone(),
        ..Spawn::default()
    };
    let a = spawn(node()).await;
    let b = spawn(node()).await;
    signed_up(&a, "ada@example.com").await;
    let answers = burst(64, |n| {
        let node = if n % 2 == 0 { &a } else { &b };
        node.request(Method::POST, "/api/auth/login/", None)
            .json(&json!({"email": "ada@example.com", "password": "wrong horse battery"}))
    })
    .await;
    assert_eq!(count(&answers, 401), 5, "{answers:?}");
    assert_eq!(count(&answers, 429), 59);
}

// 6. Security headers.

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/health/",
        "/api/products/",
        "/api/nowhere/",
        "/media/none.png",
    ] {
        let response = app.get_response(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS over http"
        );
    }
    let anonymous = app.get_response("/api/products/").await;
    assert!(!anonymous.headers().contains_key("cache-control"));

    let login = app
        .post_json_response(
            "/api/auth/login/",
            &json!({"email": "nobody@example.com", "password": "x-x-x-x-x"}),
        )
        .await;
    assert_eq!(login.headers()["cache-control"], "no-store");
    let (access, _) = signed_up(&app, "ada@example.com").await;
    for path in ["/api/auth/me/", "/api/auth/addresses/", "/api/products/"] {
        let response = app
            .request(Method::GET, path, Some(&access))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn an_https_public_url_adds_hsts() {
    let app = spawn(with(&[("EMPORIUM_PUBLIC_URL", "https://shop.example")])).await;
    let response = app.get_response("/health/").await;
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .expect("ascii")
            .starts_with("max-age=")
    );
}

// 7. Nothing a client chooses grows memory.

#[tokio::test]
async fn an_invented_method_is_not_a_metric_label() {
    let app = spawn_app().await;
    for method in ["FROBNICATE", "X-7f3a", "PURGE"] {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let response = app
            .request(method, "/api/products/", None)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 405);
    }
    let metrics = app
        .get_response("/metrics")
        .await
        .text()
        .await
        .expect("text");
    for invented in ["FROBNICATE", "X-7f3a", "PURGE"] {
        assert!(!metrics.contains(invented), "{invented} became a label");
    }
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

#[tokio::test]
async fn the_periodic_purges_delete_dead_tokens_codes_and_old_jobs_only() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_JOB_RETENTION", "1h".to_owned())],
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let (_, live) = signed_up(&app, "ada@example.com").await;
    signed_up(&app, "bob@example.com").await;
    let past = emporium::time::now() - chrono::TimeDelta::hours(2);
    // Bob's session has expired; Ada's is live.
    let bob = user::Entity::find()
        .filter(user::Column::Email.eq("bob@example.com"))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("bob");
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::ExpiresAt, Expr::value(past))
        .filter(refresh_token::Column::UserId.eq(bob.id))
        .exec(&app.state.db)
        .await
        .expect("expire");
    let old = queue::insert(&app.state.db, queue::NewJob::new("x.old", json!({})))
        .await
        .expect("job");
    let recent = queue::insert(&app.state.db, queue::NewJob::new("x.recent", json!({})))
        .await
        .expect("job");
    let queued = queue::insert(&app.state.db, queue::NewJob::new("x.queued", json!({})))
        .await
        .expect("job");
    for (id, finished, state) in [(old, past, "dead"), (recent, emporium::time::now(), "done")] {
        job::Entity::update_many()
            .col_expr(job::Column::State, Expr::value(state))
            .col_expr(job::Column::FinishedAt, Expr::value(Some(finished)))
            .filter(job::Column::Id.eq(id))
            .exec(&app.state.db)
            .await
            .expect("finish");
    }

    let ctx = JobContext {
        state: app.state.clone(),
        job_id: 0,
        attempt: 1,
    };
    sessions::PurgeSessions {}
        .run(ctx.clone())
        .await
        .expect("purge");
    queue::Cleanup {}.run(ctx).await.expect("cleanup");

    let tokens = refresh_token::Entity::find()
        .all(&app.state.db)
        .await
        .expect("tokens");
    assert_eq!(tokens.len(), 1);
    assert_ne!(tokens[0].user_id, bob.id);
    assert_eq!(refresh(&app, &live).await.0, 200);
    let left: Vec<i64> = job::Entity::find()
        .all(&app.state.db)
        .await
        .expect("jobs")
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert!(!left.contains(&old));
    assert!(left.contains(&recent) && left.contains(&queued));
    let kinds: Vec<&str> = emporium::startup::job_registry()
        .periodic()
        .iter()
        .map(|p| p.kind)
        .collect();
    assert!(
        kinds.contains(&<sessions::PurgeSessions as Job>::KIND)
            && kinds.contains(&<queue::Cleanup as Job>::KIND)
    );
}

// 8. No secret in Debug output.

#[tokio::test]
async fn debug_output_of_users_and_credentials_is_redacted() {
    let app = spawn_app().await;
    signed_up(&app, "ada@example.com").await;
    let ada = user::Entity::find()
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("ada");
    assert!(ada.password.starts_with("$argon2id$"));
    let shown = format!("{ada:?}");
    assert!(
        !shown.contains("argon2") && shown.contains("ada@example.com"),
        "{shown}"
    );

    let login = emporium::accounts::views::LoginRequest {
        email: "ada@example.com".to_owned(),
        password: "hunter2-hunter2".to_owned(),
    };
    assert!(!format!("{login:?}").contains("hunter2"));
    let change = emporium::accounts::views::PasswordChange {
        old_password: "old-secret-1".to_owned(),
        new_password: "new-secret-2".to_owned(),
    };
    assert!(!format!("{change:?}").contains("secret"));
}

// Found by review: the second look.

#[tokio::test]
async fn wrong_old_passwords_are_limited_like_failed_logins() {
    let app = spawn(with(&[("EMPORIUM_LOGIN_MAX_FAILURES", "2")])).await;
    let (access, _) = signed_up(&app, "ada@example.com").await;
    let answers = burst(10, |n| {
        app.request(Method::POST, "/api/auth/password/change/", Some(&access))
            .json(&json!({"old_password": format!("guess number {n}"),
                "new_password": "Tr1cky-Quokka-Harbour"}))
    })
    .await;
    assert_eq!(count(&answers, 400), 2, "{answers:?}");
    assert_eq!(count(&answers, 429), 8);
}

#[tokio::test]
async fn a_password_longer_than_the_limit_is_refused_before_any_hashing() {
    let app = spawn_app().await;
    let long = "a-long-passphrase ".repeat(100);
    for (path, body) in [
        (
            "/api/auth/register/",
            json!({"email": "ada@example.com", "password": long}),
        ),
        (
            "/api/auth/login/",
            json!({"email": "ada@example.com", "password": long}),
        ),
    ] {
        let (status, body) = app.post(path, None, body).await;
        assert_eq!(
            (status, body),
            (
                400,
                json!({"password": ["Ensure this field has no more than 1024 characters."]})
            ),
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_accented_variant_of_an_email_is_another_account() {
    let app = spawn(with(&[("EMPORIUM_LOGIN_MAX_FAILURES", "2")])).await;
    signed_up(&app, "victim@example.com").await;
    for _ in 0..2 {
        assert_eq!(
            login(&app, "victim@example.com", "wrong-wrong-wrong")
                .await
                .0,
            401
        );
    }
    assert_eq!(login(&app, "victim@example.com", PASSWORD).await.0, 429);
    for variant in [
        "vïctim@example.com",
        "vic\u{AD}tim@example.com",
        "víctim@example.com",
    ] {
        assert_eq!(
            login(&app, variant, PASSWORD).await.0,
            401,
            "{variant} reached the locked account"
        );
    }
}

#[tokio::test]
async fn no_refresh_token_outlives_a_password_change_made_while_refreshing() {
    let app = spawn_app().await;
    for round in 0..3 {
        let email = format!("race{round}@example.com");
        let (access, refresh_token) = signed_up(&app, &email).await;
        let client = app.client.clone();
        let url = app.url("/api/auth/refresh/");
        let refresher = tokio::spawn(async move {
            let mut token = refresh_token;
            for _ in 0..40 {
                let Ok(response) = client
                    .post(&url)
                    .json(&json!({"refresh": token}))
                    .send()
                    .await
                else {
                    break;
                };
                if response.status() != 200 {
                    break;
                }
                let body: Value = response.json().await.expect("json");
                token = body["refresh"].as_str().expect("refresh").to_owned();
            }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (status, _) = app
            .post(
                "/api/auth/password/change/",
                Some(&access),
                json!({"old_password": PASSWORD, "new_password": "Tr1cky-Quokka-Harbour"}),
            )
            .await;
        assert_eq!(status, 204);
        refresher.await.expect("refresher");
        let user = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("user");
        let live = refresh_token::Entity::find()
            .filter(refresh_token::Column::UserId.eq(user.id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .filter(refresh_token::Column::UsedAt.is_null())
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(
            live, 0,
            "round {round}: a token survived the password change"
        );
    }
}

#[tokio::test]
async fn a_reset_job_run_again_after_its_code_was_used_and_purged_mails_nothing() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp, &[]).await;
    signed_up(&app, "ada@example.com").await;
    request_reset(&app, "ada@example.com").await;
    let code = nth_code(&smtp, 1).await;
    assert_eq!(
        confirm_reset(&app, &code, "Tr1cky-Quokka-Harbour").await.0,
        204
    );
    let job = job::Entity::find()
        .filter(job::Column::Kind.eq(<emporium::accounts::reset::PasswordReset as Job>::KIND))
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("the reset job");
    let payload: Value = serde_json::from_str(&job.payload).expect("payload");
    let ctx = JobContext {
        state: app.state.clone(),
        job_id: job.id,
        attempt: 2,
    };
    // Run again while the used code is stored, then after the purge: no mail either time.
    run_job::<emporium::accounts::reset::PasswordReset>(ctx.clone(), payload.clone())
        .await
        .expect("runs");
    sessions::PurgeSessions {}
        .run(ctx.clone())
        .await
        .expect("purge");
    run_job::<emporium::accounts::reset::PasswordReset>(ctx.clone(), payload.clone())
        .await
        .expect("runs");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        confirm_reset(&app, &code, "Another-Fine-Walrus").await.0,
        400
    );

    // A request more than an hour old mails nothing, whenever its job runs.
    let mut stale = payload;
    stale["requested_at"] = json!("2020-01-01T00:00:00Z");
    run_job::<emporium::accounts::reset::PasswordReset>(
        JobContext {
            job_id: job.id + 1000,
            ..ctx
        },
        stale,
    )
    .await
    .expect("runs");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1);
}
