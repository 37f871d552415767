//! Staff endpoints of outgoing webhooks over HTTP: registering, listing, changing and deleting
//! endpoints; the signing secret shown once and stored encrypted; rotation signing with both
//! secrets for a day; the URL rules (https, no private or loopback address, http only to an
//! allowed host); staff only, 404s and idempotent creation.

use chrono::{TimeDelta, Utc};
use emporium::webhooks::delivery::{self, DeliveryStatus};
use emporium::webhooks::{endpoint, service, signing_secrets};
use reqwest::Method;
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::{Value, json};

use crate::helpers::{Spawn, TestApp, spawn, spawn_app};

const WEBHOOKS: &str = "/api/webhooks/";
/// A public address given literally, so creating needs no DNS.
const URL: &str = "https://1.1.1.1/hooks/emporium";

fn path(id: i64) -> String {
    format!("{WEBHOOKS}{id}/")
}

fn id(view: &Value) -> i64 {
    view["id"].as_i64().expect("id")
}

async fn created(app: &TestApp, staff: &str, body: Value) -> Value {
    let (status, answer) = app.post(WEBHOOKS, Some(staff), body.clone()).await;
    assert_eq!(status, 201, "{body}: {answer}");
    answer
}

async fn endpoints(app: &TestApp) -> u64 {
    endpoint::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count")
}

async fn stored(app: &TestApp, id: i64) -> endpoint::Model {
    endpoint::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("stored")
}

async fn secrets_at(app: &TestApp, id: i64, at: chrono::DateTime<Utc>) -> Vec<String> {
    signing_secrets(&app.state.db, &service::cipher(&app.state.settings), id, at)
        .await
        .expect("secrets")
}

fn assert_no_secret(view: &Value) {
    assert!(view.get("secret").is_none(), "a secret in {view}");
    let text = view.to_string();
    assert!(!text.contains("whsec_"), "a secret in {text}");
}

/// Each `(body, field, message)` is a 400 with `message` among `field`'s (any when empty).
async fn refused_each(
    app: &TestApp,
    staff: &str,
    method: Method,
    path: &str,
    cases: &[(Value, &str, &str)],
) {
    for (body, field, message) in cases {
        let (status, answer) = app
            .call(method.clone(), path, Some(staff), Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        let messages = &answer[*field];
        assert!(messages.is_array(), "{body}: {field} in {answer}");
        if !message.is_empty() {
            assert!(
                messages.as_array().is_some_and(|m| m
                    .iter()
                    .any(|m| m.as_str().is_some_and(|m| m.contains(message)))),
                "{body}: expected {field}: {message:?}, got {answer}"
            );
        }
    }
}

#[tokio::test]
async fn staff_register_list_change_and_delete_webhook_endpoints() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;

    let first = created(
        &app,
        &staff,
        json!({"url": format!(" {URL} "), "events": ["order.paid", "order.cancelled", "order.paid"],
            "description": " Fulfilment ", "id": 99, "secret": "whsec_mine"}),
    )
    .await;
    assert_eq!(first["url"], URL);
    assert_eq!(first["events"], json!(["order.paid", "order.cancelled"]));
    assert_eq!(first["is_active"], true);
    assert_eq!(first["description"], "Fulfilment");
    assert_eq!(first["disabled_reason"], Value::Null);
    assert_ne!(first["secret"], "whsec_mine");
    assert_ne!(id(&first), 99);
    let keys: Vec<&String> = first.as_object().expect("object").keys().collect();
    assert_eq!(
        keys.len(),
        9,
        "id, url, events, is_active, description, disabled_reason, created_at, updated_at, secret: {first}"
    );
    let second = created(
        &app,
        &staff,
        json!({"url": "https://8.8.8.8:8443/in", "events": ["*"], "is_active": false}),
    )
    .await;
    assert_eq!(second["events"], json!(["*"]));
    assert_eq!(second["is_active"], false);
    assert_eq!(second["description"], "");

    let (status, list) = app.get_as(WEBHOOKS, Some(&staff)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["count"], 2);
    let ids: Vec<i64> = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, [id(&second), id(&first)], "newest first");

    let (status, one) = app.get_as(&path(id(&first)), Some(&staff)).await;
    assert_eq!(status, 200);
    assert_eq!(one["events"], json!(["order.paid", "order.cancelled"]));

    let (status, changed) = app
        .patch(
            &path(id(&first)),
            Some(&staff),
            json!({"events": ["stock.low", "stock.out"], "description": null,
                "url": "https://1.0.0.1/new"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["events"], json!(["stock.low", "stock.out"]));
    assert_eq!(changed["description"], "");
    assert_eq!(changed["url"], "https://1.0.0.1/new");
    assert_eq!(changed["is_active"], true);
    let row = stored(&app, id(&first)).await;
    assert_eq!(row.url, "https://1.0.0.1/new");
    assert_eq!(row.event_names(), ["stock.low", "stock.out"]);

    // A delivery of the endpoint goes with it.
    let now = Utc::now();
    delivery::ActiveModel {
        endpoint_id: Set(id(&first)),
        event_id: Set("evt_00000000-0000-0000-0000-000000000001".to_owned()),
        event_type: Set("stock.low".to_owned()),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .expect("delivery");
    let (status, _) = app.delete(&path(id(&first)), Some(&staff)).await;
    assert_eq!(status, 204);
    let (status, _) = app.get_as(&path(id(&first)), Some(&staff)).await;
    assert_eq!(status, 404);
    assert_eq!(endpoints(&app).await, 1);
    let deliveries = delivery::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!(deliveries, 0);
}

#[tokio::test]
async fn each_invalid_field_is_a_400_naming_it_and_nothing_is_stored() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let long_url = format!("https://1.1.1.1/{}", "a".repeat(2000));
    refused_each(
        &app,
        &staff,
        Method::POST,
        WEBHOOKS,
        &[
            (
                json!({"events": ["order.paid"]}),
                "url",
                "This field is required.",
            ),
            (
                json!({"url": "", "events": ["*"]}),
                "url",
                "This field may not be blank.",
            ),
            (
                json!({"url": long_url, "events": ["*"]}),
                "url",
                "no more than 2000",
            ),
            (
                json!({"url": "hooks", "events": ["*"]}),
                "url",
                "Enter a valid URL.",
            ),
            (json!({"url": URL}), "events", "This field is required."),
            (
                json!({"url": URL, "events": []}),
                "events",
                "This list may not be empty.",
            ),
            (
                json!({"url": URL, "events": "order.paid"}),
                "events",
                "Expected a list",
            ),
            (
                json!({"url": URL, "events": ["order.paid", "order.lost"]}),
                "events",
                "\"order.lost\" is not a valid event type.",
            ),
            (
                json!({"url": URL, "events": ["ping"]}),
                "events",
                "\"ping\"",
            ),
            (
                json!({"url": URL, "events": ["*", "order.paid"]}),
                "events",
                "\"*\"",
            ),
            (
                json!({"url": URL, "events": ["*"], "is_active": "maybe"}),
                "is_active",
                "",
            ),
            (
                json!({"url": URL, "events": ["*"], "description": "d".repeat(501)}),
                "description",
                "no more than 500",
            ),
        ],
    )
    .await;
    assert_eq!(endpoints(&app).await, 0);

    let hook = created(&app, &staff, json!({"url": URL, "events": ["*"]})).await;
    refused_each(
        &app,
        &staff,
        Method::PATCH,
        &path(id(&hook)),
        &[
            (json!({"url": ""}), "url", "This field may not be blank."),
            (json!({"url": null}), "url", "This field may not be null."),
            (json!({"events": ["order.lost"]}), "events", "order.lost"),
            (json!({"events": []}), "events", ""),
            (json!({"is_active": null}), "is_active", ""),
        ],
    )
    .await;
    let row = stored(&app, id(&hook)).await;
    assert_eq!(row.url, URL);
    assert_eq!(row.event_names(), ["*"]);
}

#[tokio::test]
async fn the_secret_is_shown_once_and_stored_encrypted() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let hook = created(&app, &staff, json!({"url": URL, "events": ["order.paid"]})).await;
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(secret.len() > 40, "{secret}");

    let (_, one) = app.get_as(&path(id(&hook)), Some(&staff)).await;
    assert_no_secret(&one);
    let (_, list) = app.get_as(WEBHOOKS, Some(&staff)).await;
    assert_no_secret(&list);
    let (_, changed) = app
        .patch(&path(id(&hook)), Some(&staff), json!({"description": "x"}))
        .await;
    assert_no_secret(&changed);

    // The database holds it encrypted, and the shop's key gives it back.
    let row = stored(&app, id(&hook)).await;
    assert!(!row.secret.contains(&secret));
    assert!(!row.secret.contains(secret.trim_start_matches("whsec_")));
    assert_eq!(secrets_at(&app, id(&hook), Utc::now()).await, [secret]);
}

#[tokio::test]
async fn rotating_the_secret_signs_with_both_for_a_day() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let hook = created(&app, &staff, json!({"url": URL, "events": ["*"]})).await;
    let old = hook["secret"].as_str().expect("secret").to_owned();
    let rotate = format!("{}rotate-secret/", path(id(&hook)));

    let (status, rotated) = app.post_empty(&rotate, Some(&staff)).await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().expect("new secret").to_owned();
    assert!(new.starts_with("whsec_"));
    assert_ne!(new, old);
    assert_eq!(rotated["id"], hook["id"]);

    let now = Utc::now();
    assert_eq!(secrets_at(&app, id(&hook), now).await, [new.clone(), old]);
    assert_eq!(
        secrets_at(&app, id(&hook), now + TimeDelta::hours(25)).await,
        [new]
    );
    let row = stored(&app, id(&hook)).await;
    let until = row.previous_until.expect("previous_until");
    assert!(until > now + TimeDelta::hours(23) && until <= now + TimeDelta::hours(25));

    let (_, one) = app.get_as(&path(id(&hook)), Some(&staff)).await;
    assert_no_secret(&one);
    let (status, _) = app
        .post_empty(&format!("{WEBHOOKS}999999/rotate-secret/"), Some(&staff))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn urls_to_private_addresses_or_over_plain_http_are_refused() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let cases = [
        (
            json!({"url": "https://127.0.0.1/", "events": ["*"]}),
            "url",
            "loopback",
        ),
        (
            json!({"url": "https://localhost/", "events": ["*"]}),
            "url",
            "loopback",
        ),
        (
            json!({"url": "https://169.254.169.254/latest", "events": ["*"]}),
            "url",
            "link-local",
        ),
        (
            json!({"url": "https://10.0.0.7/", "events": ["*"]}),
            "url",
            "private",
        ),
        (
            json!({"url": "https://[::1]/", "events": ["*"]}),
            "url",
            "loopback",
        ),
        (
            json!({"url": "https://[::ffff:192.168.0.1]/", "events": ["*"]}),
            "url",
            "private",
        ),
        (
            json!({"url": "http://example.com/", "events": ["*"]}),
            "url",
            "Only https",
        ),
        (
            json!({"url": "https://user:pw@1.1.1.1/", "events": ["*"]}),
            "url",
            "user name or password",
        ),
    ];
    refused_each(&app, &staff, Method::POST, WEBHOOKS, &cases).await;
    assert_eq!(endpoints(&app).await, 0);

    // The same rules when the URL changes.
    let hook = created(&app, &staff, json!({"url": URL, "events": ["*"]})).await;
    let patches: Vec<(Value, &str, &str)> = cases
        .iter()
        .map(|(body, field, message)| (json!({"url": body["url"]}), *field, *message))
        .collect();
    refused_each(&app, &staff, Method::PATCH, &path(id(&hook)), &patches).await;
    assert_eq!(stored(&app, id(&hook)).await.url, URL);
}

#[tokio::test]
async fn plain_http_to_a_private_address_is_accepted_for_an_allowed_host() {
    let app = spawn(Spawn {
        settings: vec![("EMPORIUM_WEBHOOK_ALLOW_HOSTS", "127.0.0.1".to_owned())],
        ..Default::default()
    })
    .await;
    let staff = app.staff_token().await;
    let url = format!("http://127.0.0.1:{}/hook", app.addr.port());
    let hook = created(&app, &staff, json!({"url": url, "events": ["*"]})).await;
    assert_eq!(hook["url"], url.as_str());
    // Another host is still held to the rules.
    let (status, answer) = app
        .post(
            WEBHOOKS,
            Some(&staff),
            json!({"url": "http://example.com/", "events": ["*"]}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = app
        .post(
            WEBHOOKS,
            Some(&staff),
            json!({"url": "https://169.254.169.254/latest", "events": ["*"]}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn only_staff_see_or_change_webhooks() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let hook = created(&app, &staff, json!({"url": URL, "events": ["*"]})).await;
    let one = path(id(&hook));
    let rotate = format!("{one}rotate-secret/");
    let body = json!({"url": URL, "events": ["*"]});
    let calls = [
        (Method::GET, WEBHOOKS.to_owned(), None),
        (Method::POST, WEBHOOKS.to_owned(), Some(body.clone())),
        (Method::GET, one.clone(), None),
        (
            Method::PATCH,
            one.clone(),
            Some(json!({"is_active": false})),
        ),
        (Method::DELETE, one.clone(), None),
        (Method::POST, rotate.clone(), None),
    ];
    for (method, path, body) in &calls {
        let (status, _) = app.call(method.clone(), path, None, body.clone()).await;
        assert_eq!(status, 401, "{method} {path} anonymous");
        let (status, _) = app
            .call(method.clone(), path, Some(&customer), body.clone())
            .await;
        assert_eq!(status, 403, "{method} {path} customer");
    }
    assert_eq!(endpoints(&app).await, 1);
    assert!(stored(&app, id(&hook)).await.is_active);

    let missing = path(999_999);
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"is_active": false}))),
        (Method::DELETE, None),
    ] {
        let (status, _) = app.call(method.clone(), &missing, Some(&staff), body).await;
        assert_eq!(status, 404, "{method}");
    }
}

#[tokio::test]
async fn a_creation_retried_with_its_idempotency_key_makes_one_endpoint() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let body = json!({"url": URL, "events": ["order.paid"]});
    let send = |body: Value| {
        app.request(Method::POST, WEBHOOKS, Some(&staff))
            .header("Idempotency-Key", "hook-1")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.expect("sent");
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let again = send(body).await.expect("sent");
    assert_eq!(again.status(), 201);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
    // The replay shows the secret again; the record it came from keeps it encrypted.
    let secret = first["secret"].as_str().expect("secret");
    assert_eq!(again["secret"], secret);
    let kept = emporium::idempotency::record::Entity::find()
        .all(&app.state.db)
        .await
        .expect("records");
    assert!(!kept.is_empty());
    assert!(
        kept.iter().all(|r| !r.response.contains(secret)),
        "no idempotency record holds the secret in the clear"
    );
    assert_eq!(endpoints(&app).await, 1);
    let other = send(json!({"url": URL, "events": ["order.cancelled"]}))
        .await
        .expect("sent");
    assert_eq!(other.status(), 422);
    assert_eq!(endpoints(&app).await, 1);
}

#[tokio::test]
async fn turning_an_endpoint_back_on_forgets_why_it_was_turned_off() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let hook = created(&app, &staff, json!({"url": URL, "events": ["*"]})).await;
    // As the delivery worker leaves an endpoint after 20 failed attempts.
    let mut row: endpoint::ActiveModel = stored(&app, id(&hook)).await.into();
    row.is_active = Set(false);
    row.consecutive_failures = Set(20);
    row.disabled_reason = Set(Some("20 consecutive failed deliveries".to_owned()));
    row.update(&app.state.db).await.expect("disabled");
    let (_, off) = app.get_as(&path(id(&hook)), Some(&staff)).await;
    assert_eq!(off["is_active"], false);
    assert_eq!(off["disabled_reason"], "20 consecutive failed deliveries");

    let (status, on) = app
        .patch(&path(id(&hook)), Some(&staff), json!({"is_active": true}))
        .await;
    assert_eq!(status, 200, "{on}");
    assert_eq!(on["is_active"], true);
    assert_eq!(on["disabled_reason"], Value::Null);
    let row = stored(&app, id(&hook)).await;
    assert_eq!(row.consecutive_failures, 0);
    assert_eq!(row.disabled_reason, None);
}
