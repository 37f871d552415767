//! Accounts over HTTP: registration, tokens, profile, passwords, addresses, throttling, roles.

use std::time::Duration;

use emporium::accounts::{refresh_token, reset, reset_token};
use emporium::auth::user;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Spawn, TestApp, eventually, json, service, spawn, spawn_app};
use crate::standins::SmtpServer;

async fn register(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    json(
        app.post_json(
            "/api/auth/register/",
            &json!({"email": email, "password": password}),
        )
        .await,
    )
    .await
}

async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    json(
        app.post_json(
            "/api/auth/login/",
            &json!({"email": email, "password": password}),
        )
        .await,
    )
    .await
}

/// Registers and logs in; returns (access, refresh).
async fn signed_up(app: &TestApp, email: &str) -> (String, String) {
    let (status, _) = register(app, email, PASSWORD).await;
    assert_eq!(status, 201);
    let (status, body) = login(app, email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    (
        body["access"].as_str().expect("access").to_owned(),
        body["refresh"].as_str().expect("refresh").to_owned(),
    )
}

async fn get_as(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    app.call(reqwest::Method::GET, path, Some(token), None)
        .await
}

async fn send_as(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("sent")
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    json(
        app.post_json("/api/auth/refresh/", &json!({"refresh": token}))
            .await,
    )
    .await
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .fold(0_u32, |acc, b| (acc << 8) | u32::from(*b))
            << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn b64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (mut buffer, mut bits, mut out) = (0_u32, 0, Vec::new());
    for byte in text.bytes() {
        let Some(value) = ALPHABET.iter().position(|b| *b == byte) else {
            continue;
        };
        buffer = (buffer << 6) | u32::try_from(value).expect("small");
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).expect("byte"));
        }
    }
    out
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&b64url_decode(payload)).expect("JSON claims")
}

#[tokio::test]
async fn registering_creates_a_user_with_a_hashed_password() {
    let app = spawn_app().await;
    let (status, body) = json(
        app.post_json(
            "/api/auth/register/",
            &json!({"email": " Ada@Example.COM ", "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(
        (&body["first_name"], &body["last_name"]),
        (&json!("Ada"), &json!("Lovelace"))
    );
    assert_eq!(body["is_staff"], false);
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        [
            "date_joined",
            "email",
            "first_name",
            "id",
            "is_staff",
            "last_name"
        ]
    );
    assert!(body["date_joined"].as_str().expect("time").ends_with('Z'));
    let stored = user::Entity::find()
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("stored");
    assert!(stored.password.starts_with("$argon2id$"));
    assert!(!stored.password.contains(PASSWORD));
}

#[tokio::test]
async fn a_client_cannot_set_staff_id_or_join_date() {
    let app = spawn_app().await;
    let (status, body) = json(
        app.post_json(
            "/api/auth/register/",
            &json!({"email": "eve@example.com", "password": PASSWORD, "is_staff": true, "id": 999,
                    "date_joined": "2000-01-01T00:00:00Z", "is_active": false}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["is_staff"], false);
    assert_ne!(body["id"], 999);
    assert!(
        !body["date_joined"]
            .as_str()
            .expect("time")
            .starts_with("2000")
    );
    let (access, _) = {
        let (status, tokens) = login(&app, "eve@example.com", PASSWORD).await;
        assert_eq!(status, 200, "the account is active");
        (tokens["access"].as_str().expect("access").to_owned(), ())
    };
    let response = send_as(
        &app,
        reqwest::Method::PATCH,
        "/api/auth/me/",
        &access,
        &json!({"is_staff": true, "email": "boss@example.com", "first_name": "Eve"}),
    )
    .await;
    let (status, me) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&me["is_staff"], &me["email"], &me["first_name"]),
        (&json!(false), &json!("eve@example.com"), &json!("Eve"))
    );
}

#[tokio::test]
async fn an_email_already_registered_in_any_case_is_refused() {
    let app = spawn_app().await;
    assert_eq!(register(&app, "bob@example.com", PASSWORD).await.0, 201);
    let (status, body) = register(&app, "BOB@Example.com", PASSWORD).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"email": ["A user with that email already exists."]})
    );
    let (status, body) = register(&app, "not-an-email", PASSWORD).await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"email": ["Enter a valid email address."]}));
    assert_eq!(
        user::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn weak_passwords_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let cases = [
        (
            "short1",
            "This password is too short. It must contain at least 8 characters.",
        ),
        ("8219034756", "This password is entirely numeric."),
        ("password123", "This password is too common."),
        (
            "ada.lovelace1",
            "The password is too similar to the email address.",
        ),
    ];
    for (password, message) in cases {
        let (status, body) = register(&app, "ada.lovelace@example.com", password).await;
        assert_eq!(status, 400, "{password}");
        let messages = body["password"].as_array().expect("password errors");
        assert!(messages.iter().any(|m| m == message), "{password}: {body}");
    }
    assert_eq!(
        user::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn login_returns_a_pair_with_the_simplejwt_claims() {
    let app = spawn_app().await;
    let (access, refresh_token) = signed_up(&app, "ada@example.com").await;
    let access_claims = claims(&access);
    assert_eq!(access_claims["token_type"], "access");
    assert_eq!(
        access_claims["exp"].as_i64().expect("exp") - access_claims["iat"].as_i64().expect("iat"),
        300
    );
    assert!(access_claims["jti"].is_string() && access_claims["user_id"].is_i64());
    let refresh_claims = claims(&refresh_token);
    assert_eq!(refresh_claims["token_type"], "refresh");
    assert_eq!(
        refresh_claims["exp"].as_i64().expect("exp") - refresh_claims["iat"].as_i64().expect("iat"),
        86_400
    );
    let (status, me) = get_as(&app, "/api/auth/me/", &access).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "ada@example.com");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    let app = spawn_app().await;
    signed_up(&app, "ada@example.com").await;
    let expected = json!({"detail": "No active account found with the given credentials"});
    assert_eq!(
        login(&app, "ada@example.com", "wrong horse battery staple").await,
        (401, expected.clone())
    );
    assert_eq!(
        login(&app, "nobody@example.com", PASSWORD).await,
        (401, expected)
    );
    let (status, body) = json(
        app.post_json("/api/auth/login/", &json!({"email": "ada@example.com"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"password": ["This field is required."]}))
    );
}

#[tokio::test]
async fn forged_and_misused_tokens_are_refused() {
    let app = spawn_app().await;
    let (access, refresh_token) = signed_up(&app, "ada@example.com").await;

    let (status, body) = json(app.get("/api/auth/me/").await).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"detail": "Authentication credentials were not provided."})
    );

    let parts: Vec<&str> = access.split('.').collect();
    let mut forged_claims = claims(&access);
    forged_claims["user_id"] = json!(forged_claims["user_id"].as_i64().expect("id") + 1);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64url(forged_claims.to_string().as_bytes()),
        parts[2]
    );
    let alg_none = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT"}"#),
        b64url(claims(&access).to_string().as_bytes())
    );
    let hs512 = format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"HS512","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    let foreign = {
        let keys = emporium::auth::tokens::TokenKeys::new(
            b"some-other-shop-secret-key-0123456789",
            Duration::from_secs(300),
            Duration::from_secs(300),
        );
        keys.issue(emporium::auth::tokens::TokenType::Access, 1)
            .expect("issued")
            .0
    };
    for (name, token) in [
        ("garbage", "not.a.token".to_owned()),
        ("refresh as access", refresh_token.clone()),
        ("tampered payload", tampered),
        ("alg none", alg_none),
        ("algorithm swapped", hs512),
        ("foreign key", foreign),
    ] {
        let (status, body) = get_as(&app, "/api/auth/me/", &token).await;
        assert_eq!(status, 401, "{name}");
        assert_eq!(body["code"], "token_not_valid", "{name}: {body}");
    }
    let (status, body) = refresh(&app, &access).await;
    assert_eq!(status, 401, "an access token is no refresh token");
    assert_eq!(body["code"], "token_not_valid");
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_ACCESS_TTL", "1s".to_owned())],
        ..Spawn::default()
    })
    .await;
    let (access, _) = signed_up(&app, "ada@example.com").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = get_as(&app, "/api/auth/me/", &access).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "token_not_valid");
}

#[tokio::test]
async fn refresh_rotates_and_a_token_reused_after_the_grace_revokes_its_family() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_REFRESH_REUSE_GRACE", "1s".to_owned())],
        ..Spawn::default()
    })
    .await;
    let (_, first) = signed_up(&app, "ada@example.com").await;
    let (status, pair) = refresh(&app, &first).await;
    assert_eq!(status, 200);
    let second = pair["refresh"].as_str().expect("refresh").to_owned();
    assert_ne!(second, first);
    assert_eq!(
        get_as(
            &app,
            "/api/auth/me/",
            pair["access"].as_str().expect("access")
        )
        .await
        .0,
        200
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = refresh(&app, &first).await;
    assert_eq!(status, 401, "a spent token is refused after the grace");
    assert_eq!(body["code"], "token_not_valid");
    let (status, _) = refresh(&app, &second).await;
    assert_eq!(status, 401, "reuse revoked the whole family");
    let live = refresh_token::Entity::find()
        .filter(refresh_token::Column::RevokedAt.is_null())
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(live, 0);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let (_, token) = signed_up(&app, "ada@example.com").await;
    let response = app
        .post_json("/api/auth/logout/", &json!({"refresh": token}))
        .await;
    assert_eq!(response.status(), 205);
    assert_eq!(refresh(&app, &token).await.0, 401);
    let (status, body) = json(
        app.post_json("/api/auth/logout/", &json!({"refresh": "junk"}))
            .await,
    )
    .await;
    assert_eq!((status, &body["code"]), (401, &json!("token_not_valid")));
}

#[tokio::test]
async fn changing_the_password_revokes_every_session() {
    let app = spawn_app().await;
    let (access, phone) = signed_up(&app, "ada@example.com").await;
    let (_, tablet) = login(&app, "ada@example.com", PASSWORD).await;
    let change = |old: &str, new: &str| json!({"old_password": old, "new_password": new});

    let wrong = send_as(
        &app,
        reqwest::Method::POST,
        "/api/auth/password/change/",
        &access,
        &change("not my password", "Tr1cky-Quokka-Harbour"),
    )
    .await;
    let (status, body) = json(wrong).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"old_password": ["Your old password was entered incorrectly. Please enter it again."]})
    );
    let weak = send_as(
        &app,
        reqwest::Method::POST,
        "/api/auth/password/change/",
        &access,
        &change(PASSWORD, "12345678"),
    )
    .await;
    assert_eq!(weak.status(), 400);

    let ok = send_as(
        &app,
        reqwest::Method::POST,
        "/api/auth/password/change/",
        &access,
        &change(PASSWORD, "Tr1cky-Quokka-Harbour"),
    )
    .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(refresh(&app, &phone).await.0, 401);
    assert_eq!(
        refresh(&app, tablet["refresh"].as_str().expect("refresh"))
            .await
            .0,
        401
    );
    assert_eq!(login(&app, "ada@example.com", PASSWORD).await.0, 401);
    assert_eq!(
        login(&app, "ada@example.com", "Tr1cky-Quokka-Harbour")
            .await
            .0,
        200
    );
}

async fn app_with_mail(smtp: &SmtpServer) -> TestApp {
    spawn(Spawn {
        settings: vec![
            ("EMAIL_URL", smtp.url()),
            ("EMAIL_FROM", "Shop <shop@shop.example>".to_owned()),
        ],
        ..Spawn::default()
    })
    .await
}

/// The reset code from the text part of the newest mail.
fn reset_code(smtp: &SmtpServer) -> String {
    let mail = smtp.messages().pop().expect("a mail");
    let text = mail.part("text/plain").expect("text part");
    text.lines()
        .map(str::trim)
        .find(|line| line.len() == 64 && line.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned()
}

#[tokio::test]
async fn a_password_reset_mails_a_single_use_code() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let (_, session) = signed_up(&app, "ada@example.com").await;
    let response = app
        .post_json(
            "/api/auth/password/reset/",
            &json!({"email": "ADA@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert!(
        eventually(Duration::from_secs(15), || async {
            !smtp.messages().is_empty()
        })
        .await
    );
    let mail = smtp.messages().pop().expect("mail");
    assert_eq!(mail.rcpt_to, ["ada@example.com"]);
    assert!(
        mail.part("text/html")
            .expect("html part")
            .contains("<code>")
    );
    let code = reset_code(&smtp);
    assert_eq!(
        reset_token::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count"),
        1
    );
    let stored = reset_token::Entity::find()
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("row");
    assert_ne!(stored.token_hash, code, "only a hash of the code is stored");

    let confirm = |token: &str, password: &str| json!({"token": token, "new_password": password});
    let weak = app
        .post_json(
            "/api/auth/password/reset/confirm/",
            &confirm(&code, "password1"),
        )
        .await;
    let (status, body) = json(weak).await;
    assert_eq!(status, 400);
    assert!(body["new_password"].is_array());
    let ok = app
        .post_json(
            "/api/auth/password/reset/confirm/",
            &confirm(&code, "Tr1cky-Quokka-Harbour"),
        )
        .await;
    assert_eq!(ok.status(), 204);
    assert_eq!(
        login(&app, "ada@example.com", "Tr1cky-Quokka-Harbour")
            .await
            .0,
        200
    );
    assert_eq!(
        refresh(&app, &session).await.0,
        401,
        "sessions are revoked by a reset"
    );

    let again = app
        .post_json(
            "/api/auth/password/reset/confirm/",
            &confirm(&code, "Another-Fine-Walrus"),
        )
        .await;
    let (status, body) = json(again).await;
    assert_eq!(
        (status, body),
        (400, json!({"token": ["Invalid or expired token."]}))
    );
    let bogus = app
        .post_json(
            "/api/auth/password/reset/confirm/",
            &confirm("0123", "Another-Fine-Walrus"),
        )
        .await;
    assert_eq!(bogus.status(), 400);
}

#[tokio::test]
async fn an_expired_reset_code_is_refused() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    signed_up(&app, "ada@example.com").await;
    app.post_json(
        "/api/auth/password/reset/",
        &json!({"email": "ada@example.com"}),
    )
    .await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            !smtp.messages().is_empty()
        })
        .await
    );
    let code = reset_code(&smtp);
    reset_token::Entity::update_many()
        .col_expr(
            reset_token::Column::ExpiresAt,
            Expr::value(emporium::time::now() - chrono::TimeDelta::seconds(1)),
        )
        .exec(&app.state.db)
        .await
        .expect("expire");
    let response = app
        .post_json(
            "/api/auth/password/reset/confirm/",
            &json!({"token": code, "new_password": "Tr1cky-Quokka-Harbour"}),
        )
        .await;
    assert_eq!(
        json(response).await,
        (400, json!({"token": ["Invalid or expired token."]}))
    );
}

#[tokio::test]
async fn a_reset_for_an_unknown_email_answers_the_same_and_mails_nothing() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp).await;
    let response = app
        .post_json(
            "/api/auth/password/reset/",
            &json!({"email": "ghost@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 204);
    let processed = eventually(Duration::from_secs(10), || async {
        emporium::jobs::job::Entity::find()
            .filter(emporium::jobs::job::Column::Kind.eq(reset::PASSWORD_RESET_JOB))
            .filter(emporium::jobs::job::Column::State.eq("done"))
            .count(&app.state.db)
            .await
            .expect("count")
            == 1
    })
    .await;
    assert!(processed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn repeated_reset_requests_are_throttled() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let response = app
            .post_json(
                "/api/auth/password/reset/",
                &json!({"email": "ada@example.com"}),
            )
            .await;
        assert_eq!(response.status(), 204);
    }
    let response = app
        .post_json(
            "/api/auth/password/reset/",
            &json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

fn address(name: &str) -> Value {
    json!({"full_name": name, "line1": "1 Main St", "city": "Springfield",
           "postal_code": "12345", "country": "us", "phone": "+1 555 0100"})
}

#[tokio::test]
async fn addresses_are_private_and_one_is_the_default() {
    let app = spawn_app().await;
    let (ada, _) = signed_up(&app, "ada@example.com").await;
    let (bob, _) = signed_up(&app, "bob@example.com").await;

    let first = send_as(
        &app,
        reqwest::Method::POST,
        "/api/auth/addresses/",
        &ada,
        &address("Ada Home"),
    )
    .await;
    let (status, home) = json(first).await;
    assert_eq!(status, 201, "{home}");
    assert_eq!(
        (&home["is_default"], &home["country"]),
        (&json!(true), &json!("US"))
    );
    let mut office = address("Ada Office");
    office["is_default"] = json!(true);
    office["user_id"] = json!(999);
    let (status, office) = json(
        send_as(
            &app,
            reqwest::Method::POST,
            "/api/auth/addresses/",
            &ada,
            &office,
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(office["is_default"], true);

    let (status, list) = get_as(&app, "/api/auth/addresses/", &ada).await;
    assert_eq!(status, 200);
    assert_eq!(list["count"], 2);
    let defaults: Vec<&Value> = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|a| a["is_default"] == true)
        .collect();
    assert_eq!(defaults.len(), 1, "one default per user");
    assert_eq!(defaults[0]["id"], office["id"]);

    let home_path = format!("/api/auth/addresses/{}/", home["id"]);
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let response = send_as(
            &app,
            method.clone(),
            &home_path,
            &bob,
            &json!({"city": "Elsewhere"}),
        )
        .await;
        assert_eq!(response.status(), 404, "{method} of another user's address");
    }
    let (status, bob_list) = get_as(&app, "/api/auth/addresses/", &bob).await;
    assert_eq!((status, &bob_list["count"]), (200, &json!(0)));

    let (status, patched) = json(
        send_as(
            &app,
            reqwest::Method::PATCH,
            &home_path,
            &ada,
            &json!({"city": "Shelbyville", "is_default": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&patched["city"], &patched["line1"]),
        (&json!("Shelbyville"), &json!("1 Main St"))
    );
    let (_, list) = get_as(&app, "/api/auth/addresses/", &ada).await;
    assert_eq!(
        list["results"][0]["id"], home["id"],
        "the new default comes first"
    );
    assert_eq!(list["results"][1]["is_default"], false);

    let deleted = send_as(&app, reqwest::Method::DELETE, &home_path, &ada, &json!({})).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(get_as(&app, &home_path, &ada).await.0, 404);
    assert_eq!(
        get_as(&app, "/api/auth/addresses/not-a-number/", &ada)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn an_address_with_bad_fields_is_refused_field_by_field() {
    let app = spawn_app().await;
    let (ada, _) = signed_up(&app, "ada@example.com").await;
    let response = send_as(
        &app,
        reqwest::Method::POST,
        "/api/auth/addresses/",
        &ada,
        &json!({"full_name": "  ", "line1": "1 Main St", "country": "XX", "phone": "call me"}),
    )
    .await;
    let (status, body) = json(response).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({
            "full_name": ["This field may not be blank."],
            "city": ["This field is required."],
            "postal_code": ["This field is required."],
            "country": ["\"XX\" is not a valid choice."],
            "phone": ["Enter a valid phone number."],
        })
    );
    let (_, list) = get_as(&app, "/api/auth/addresses/", &ada).await;
    assert_eq!(list["count"], 0);
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_account_even_for_the_right_password() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_LOGIN_MAX_FAILURES", "3".to_owned())],
        ..Spawn::default()
    })
    .await;
    signed_up(&app, "ada@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            login(&app, "ada@example.com", "wrong horse battery staple")
                .await
                .0,
            401
        );
    }
    let response = app
        .post_json(
            "/api/auth/login/",
            &json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after > 0 && retry_after <= 15 * 60);
    let (status, body) = json(response).await;
    assert_eq!(status, 429);
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .starts_with("Request was throttled.")
    );
    assert_eq!(
        login(&app, "bob@example.com", PASSWORD).await.0,
        401,
        "other accounts are not locked"
    );
}

#[tokio::test]
async fn many_failed_logins_from_one_client_lock_that_client() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_LOGIN_MAX_FAILURES", "2".to_owned())],
        ..Spawn::default()
    })
    .await;
    // Four times the per-account limit, spread over accounts so none is locked on its own.
    for n in 0..8 {
        assert_eq!(
            login(&app, &format!("user{n}@example.com"), "whatever-it-is")
                .await
                .0,
            401
        );
    }
    assert_eq!(
        login(&app, "fresh@example.com", "whatever-it-is").await.0,
        429
    );
}

#[tokio::test]
#[ignore = "needs Redis: set EMPORIUM_TEST_REDIS=redis://… and pass --include-ignored"]
async fn login_failures_are_shared_between_nodes_through_redis() {
    let redis = service("EMPORIUM_TEST_REDIS");
    let prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
    let node = |prefix: String, redis: String| {
        spawn(Spawn {
            settings: vec![
                ("REDIS_URL", redis),
                ("EMPORIUM_REDIS_PREFIX", prefix),
                ("EMPORIUM_LOGIN_MAX_FAILURES", "2".to_owned()),
            ],
            ..Spawn::default()
        })
    };
    let a = node(prefix.clone(), redis.clone()).await;
    let b = node(prefix, redis).await;
    let (status, ready) = json(a.get("/ready/").await).await;
    assert_eq!((status, &ready["checks"]["redis"]), (200, &json!("ok")));
    for _ in 0..2 {
        assert_eq!(
            login(&a, "ada@example.com", "wrong horse battery staple")
                .await
                .0,
            401
        );
    }
    assert_eq!(
        login(&b, "ada@example.com", "wrong horse battery staple")
            .await
            .0,
        429,
        "node B sees node A's failures"
    );
}

#[tokio::test]
async fn staff_endpoints_answer_401_403_and_200_by_role() {
    let app = spawn_app().await;
    let (user_access, _) = signed_up(&app, "ada@example.com").await;
    let staff_token = app.staff_token().await;
    let staff_access = staff_token.as_str();

    let (status, body) = json(app.get("/api/admin/jobs/").await).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"detail": "Authentication credentials were not provided."})
        )
    );
    let (status, body) = get_as(&app, "/api/admin/jobs/", &user_access).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"detail": "You do not have permission to perform this action."})
        )
    );
    let (status, body) = get_as(&app, "/api/admin/jobs/", staff_access).await;
    assert_eq!(status, 200);
    assert!(body["results"].is_array());
    let (status, body) = get_as(&app, "/api/admin/jobs/?state=zombie", staff_access).await;
    assert_eq!(status, 400);
    assert!(body["state"].is_array());
}

#[tokio::test]
async fn staff_can_list_dead_jobs_and_retry_them() {
    let app = spawn(Spawn {
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff_token = app.staff_token().await;
    let staff_access = staff_token.as_str();
    let db = &app.state.db;
    let dead = emporium::jobs::queue::enqueue(
        db,
        emporium::jobs::queue::NewJob::new("email.send", json!({"to": "x"})),
    )
    .await
    .expect("enqueue");
    let done = emporium::jobs::queue::enqueue(
        db,
        emporium::jobs::queue::NewJob::new("email.send", json!({})),
    )
    .await
    .expect("enqueue");
    for (id, state) in [(dead, "dead"), (done, "done")] {
        emporium::jobs::job::Entity::update_many()
            .col_expr(emporium::jobs::job::Column::State, Expr::value(state))
            .col_expr(emporium::jobs::job::Column::Attempts, Expr::value(5))
            .col_expr(
                emporium::jobs::job::Column::LastError,
                Expr::value("SMTP: refused"),
            )
            .filter(emporium::jobs::job::Column::Id.eq(id))
            .exec(db)
            .await
            .expect("update");
    }
    let (status, page) = get_as(&app, "/api/admin/jobs/?state=dead", staff_access).await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0]["id"], dead);
    assert_eq!(page["results"][0]["last_error"], "SMTP: refused");
    assert_eq!(page["results"][0]["payload"], json!({"to": "x"}));

    let retry = |id: i64| {
        app.client
            .post(app.url(&format!("/api/admin/jobs/{id}/retry/")))
            .bearer_auth(staff_access)
            .send()
    };
    let (status, job) = json(retry(dead).await.expect("sent")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&job["state"], &job["attempts"]),
        (&json!("queued"), &json!(0))
    );
    let (status, body) = json(retry(done).await.expect("sent")).await;
    assert_eq!(status, 409);
    assert!(body["detail"].is_string());
    assert_eq!(retry(987_654).await.expect("sent").status(), 404);
}
