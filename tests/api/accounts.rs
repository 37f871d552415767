//! Accounts over HTTP: registration, tokens, profile, passwords, addresses, throttling, roles.

use emporium::jobs::Job;
use std::time::Duration;

use emporium::accounts::{refresh_token, reset, reset_token};
use emporium::auth::user;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::fixtures::{app_with_mail, login, refresh, register, reset_code_in, signed_up};
use crate::helpers::{PASSWORD, Spawn, eventually, json, service, spawn, spawn_app};
use crate::standins::SmtpServer;

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
    let (status, body) = app.post("/api/auth/register/", None, json!({"email": " Ada@Example.COM ", "password": PASSWORD, "first_name": "Ada", "last_name": "Lovelace"}))
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
    let (status, body) = app
        .post(
            "/api/auth/register/",
            None,
            json!({"email": "eve@example.com", "password": PASSWORD, "is_staff": true, "id": 999,
                    "date_joined": "2000-01-01T00:00:00Z", "is_active": false}),
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
    let response = app
        .patch(
            "/api/auth/me/",
            Some(&access),
            json!({"is_staff": true, "email": "boss@example.com", "first_name": "Eve"}),
        )
        .await;
    let (status, me) = response;
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
    let (status, me) = app.get_as("/api/auth/me/", Some(&access)).await;
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
    let (status, body) = app
        .post(
            "/api/auth/login/",
            None,
            json!({"email": "ada@example.com"}),
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

    let (status, body) = app.get("/api/auth/me/").await;
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
        let (status, body) = app.get_as("/api/auth/me/", Some(&token)).await;
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
    let (status, body) = app.get_as("/api/auth/me/", Some(&access)).await;
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
        app.get_as(
            "/api/auth/me/",
            Some(pair["access"].as_str().expect("access"))
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
        .post("/api/auth/logout/", None, json!({"refresh": token}))
        .await;
    assert_eq!(response.0, 205);
    assert_eq!(refresh(&app, &token).await.0, 401);
    let (status, body) = app
        .post("/api/auth/logout/", None, json!({"refresh": "junk"}))
        .await;
    assert_eq!((status, &body["code"]), (401, &json!("token_not_valid")));
}

#[tokio::test]
async fn changing_the_password_revokes_every_session() {
    let app = spawn_app().await;
    let (access, phone) = signed_up(&app, "ada@example.com").await;
    let (_, tablet) = login(&app, "ada@example.com", PASSWORD).await;
    let change = |old: &str, new: &str| json!({"old_password": old, "new_password": new});

    let wrong = app
        .post(
            "/api/auth/password/change/",
            Some(&access),
            change("not my password", "Tr1cky-Quokka-Harbour"),
        )
        .await;
    let (status, body) = wrong;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"old_password": ["Your old password was entered incorrectly. Please enter it again."]})
    );
    let weak = app
        .post(
            "/api/auth/password/change/",
            Some(&access),
            change(PASSWORD, "12345678"),
        )
        .await;
    assert_eq!(weak.0, 400);

    let ok = app
        .post(
            "/api/auth/password/change/",
            Some(&access),
            change(PASSWORD, "Tr1cky-Quokka-Harbour"),
        )
        .await;
    assert_eq!(ok.0, 204);
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

/// The reset code in the newest mail.
fn reset_code(smtp: &SmtpServer) -> String {
    reset_code_in(&smtp.messages().pop().expect("a mail"))
}

#[tokio::test]
async fn a_password_reset_mails_a_single_use_code() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp, &[("EMAIL_FROM", "Shop <shop@shop.example>")]).await;
    let (_, session) = signed_up(&app, "ada@example.com").await;
    let response = app
        .post(
            "/api/auth/password/reset/",
            None,
            json!({"email": "ADA@example.com"}),
        )
        .await;
    assert_eq!(response.0, 204);
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
        .post(
            "/api/auth/password/reset/confirm/",
            None,
            confirm(&code, "password1"),
        )
        .await;
    let (status, body) = weak;
    assert_eq!(status, 400);
    assert!(body["new_password"].is_array());
    let ok = app
        .post(
            "/api/auth/password/reset/confirm/",
            None,
            confirm(&code, "Tr1cky-Quokka-Harbour"),
        )
        .await;
    assert_eq!(ok.0, 204);
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
        .post(
            "/api/auth/password/reset/confirm/",
            None,
            confirm(&code, "Another-Fine-Walrus"),
        )
        .await;
    let (status, body) = again;
    assert_eq!(
        (status, body),
        (400, json!({"token": ["Invalid or expired token."]}))
    );
    let bogus = app
        .post(
            "/api/auth/password/reset/confirm/",
            None,
            confirm("0123", "Another-Fine-Walrus"),
        )
        .await;
    assert_eq!(bogus.0, 400);
}

#[tokio::test]
async fn an_expired_reset_code_is_refused() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp, &[("EMAIL_FROM", "Shop <shop@shop.example>")]).await;
    signed_up(&app, "ada@example.com").await;
    app.post(
        "/api/auth/password/reset/",
        None,
        json!({"email": "ada@example.com"}),
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
        .post(
            "/api/auth/password/reset/confirm/",
            None,
            json!({"token": code, "new_password": "Tr1cky-Quokka-Harbour"}),
        )
        .await;
    assert_eq!(
        response,
        (400, json!({"token": ["Invalid or expired token."]}))
    );
}

#[tokio::test]
async fn a_reset_for_an_unknown_email_answers_the_same_and_mails_nothing() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp, &[("EMAIL_FROM", "Shop <shop@shop.example>")]).await;
    let response = app
        .post(
            "/api/auth/password/reset/",
            None,
            json!({"email": "ghost@example.com"}),
        )
        .await;
    assert_eq!(response.0, 204);
    let processed = eventually(Duration::from_secs(10), || async {
        emporium::jobs::job::Entity::find()
            .filter(emporium::jobs::job::Column::Kind.eq(<reset::PasswordReset as Job>::KIND))
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
            .post(
                "/api/auth/password/reset/",
                None,
                json!({"email": "ada@example.com"}),
            )
            .await;
        assert_eq!(response.0, 204);
    }
    let response = app
        .post_json_response(
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

    let first = app
        .post("/api/auth/addresses/", Some(&ada), address("Ada Home"))
        .await;
    let (status, home) = first;
    assert_eq!(status, 201, "{home}");
    assert_eq!(
        (&home["is_default"], &home["country"]),
        (&json!(true), &json!("US"))
    );
    let mut office = address("Ada Office");
    office["is_default"] = json!(true);
    office["user_id"] = json!(999);
    let (status, office) = app.post("/api/auth/addresses/", Some(&ada), office).await;
    assert_eq!(status, 201);
    assert_eq!(office["is_default"], true);

    let (status, list) = app.get_as("/api/auth/addresses/", Some(&ada)).await;
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
        let response = app
            .call(
                method.clone(),
                &home_path,
                Some(&bob),
                Some(json!({"city": "Elsewhere"})),
            )
            .await;
        assert_eq!(response.0, 404, "{method} of another user's address");
    }
    let (status, bob_list) = app.get_as("/api/auth/addresses/", Some(&bob)).await;
    assert_eq!((status, &bob_list["count"]), (200, &json!(0)));

    let (status, patched) = app
        .patch(
            &home_path,
            Some(&ada),
            json!({"city": "Shelbyville", "is_default": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&patched["city"], &patched["line1"]),
        (&json!("Shelbyville"), &json!("1 Main St"))
    );
    let (_, list) = app.get_as("/api/auth/addresses/", Some(&ada)).await;
    assert_eq!(
        list["results"][0]["id"], home["id"],
        "the new default comes first"
    );
    assert_eq!(list["results"][1]["is_default"], false);

    let deleted = app
        .call(
            reqwest::Method::DELETE,
            &home_path,
            Some(&ada),
            Some(json!({})),
        )
        .await;
    assert_eq!(deleted.0, 204);
    assert_eq!(app.get_as(&home_path, Some(&ada)).await.0, 404);
    assert_eq!(
        app.get_as("/api/auth/addresses/not-a-number/", Some(&ada))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn an_address_with_bad_fields_is_refused_field_by_field() {
    let app = spawn_app().await;
    let (ada, _) = signed_up(&app, "ada@example.com").await;
    let response = app
        .post(
            "/api/auth/addresses/",
            Some(&ada),
            json!({"full_name": "  ", "line1": "1 Main St", "country": "XX", "phone": "call me"}),
        )
        .await;
    let (status, body) = response;
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
    let (_, list) = app.get_as("/api/auth/addresses/", Some(&ada)).await;
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
        .post_json_response(
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
    let (status, ready) = a.get("/ready/").await;
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

    let (status, body) = app.get("/api/admin/jobs/").await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"detail": "Authentication credentials were not provided."})
        )
    );
    let (status, body) = app.get_as("/api/admin/jobs/", Some(&user_access)).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"detail": "You do not have permission to perform this action."})
        )
    );
    let (status, body) = app.get_as("/api/admin/jobs/", Some(staff_access)).await;
    assert_eq!(status, 200);
    assert!(body["results"].is_array());
    let (status, body) = app
        .get_as("/api/admin/jobs/?state=zombie", Some(staff_access))
        .await;
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
    let dead = emporium::jobs::queue::insert(
        db,
        emporium::jobs::queue::NewJob::new("email.send", json!({"to": "x"})),
    )
    .await
    .expect("enqueue");
    let done = emporium::jobs::queue::insert(
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
    let (status, page) = app
        .get_as("/api/admin/jobs/?state=dead", Some(staff_access))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["count"], 1);
    assert_eq!(page["results"][0]["id"], dead);
    assert_eq!(page["results"][0]["last_error"], "SMTP: refused");
    assert_eq!(page["results"][0]["payload"], json!({"to": "x"}));

    let retry = |id: i64| {
        let (app, path) = (&app, format!("/api/admin/jobs/{id}/retry/"));
        async move { app.post_empty(&path, Some(staff_access)).await }
    };
    let (status, job) = retry(dead).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&job["state"], &job["attempts"]),
        (&json!("queued"), &json!(0))
    );
    let (status, body) = retry(done).await;
    assert_eq!(status, 409);
    assert!(body["detail"].is_string());
    assert_eq!(retry(987_654).await.0, 404);
}
