//! Outages degrade fast: a Redis killed under load (reads answer at once and never stale,
//! writes refuse at once, caching comes back by itself), a PostgreSQL restarted under load
//! (bounded 503s with Retry-After, nothing committed lost, recovery without a restart), and
//! a payment provider that never answers (503 within the outgoing timeout). Each breaks a
//! service of its own, never the shared ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::fixtures::{Basket, create_intent, customer_order, new_category, product};
use crate::helpers::{
    PrivatePostgres, PrivateRedis, SilentServer, Spawn, TestApp, TestDatabase, eventually, spawn,
};

/// One answer seen under load.
#[derive(Debug)]
struct Seen {
    status: u16,
    took: Duration,
    price: Option<String>,
    /// The last price committed before the request was sent.
    committed_before: i64,
}

/// GET `path` on `app`: status, time taken, body.
async fn timed_get(app: &TestApp, path: &str) -> (u16, Duration, Value, Option<String>) {
    let started = Instant::now();
    let response = app
        .request(Method::GET, path, None)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, started.elapsed(), body, cache)
}

/// The price `n` steps up from 10.00: prices only go up, so a read below the last committed
/// one is stale.
fn price(n: i64) -> String {
    format!("{}.00", 10 + n)
}

fn cents(text: &str) -> i64 {
    text.replace('.', "").parse().expect("a price")
}

/// Reads `path` on `nodes` in a loop until `stop`, recording every answer.
fn read_load(
    nodes: Vec<Arc<TestApp>>,
    path: String,
    committed: Arc<AtomicI64>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<Seen>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            for node in &nodes {
                let committed_before = committed.load(Ordering::SeqCst);
                let (status, took, body, _) = timed_get(node, &path).await;
                seen.push(Seen {
                    status,
                    took,
                    price: body["price"].as_str().map(str::to_owned),
                    committed_before,
                });
            }
        }
        seen
    })
}

/// Staff raise the price one step through `node`: the status and the time it took; the step
/// counts as committed only on 200.
async fn raise(node: &TestApp, staff: &str, path: &str, step: i64) -> (u16, Duration) {
    let started = Instant::now();
    let (status, _) = node
        .patch(path, Some(staff), json!({ "price": price(step) }))
        .await;
    (status, started.elapsed())
}

#[tokio::test]
#[ignore = "needs redis-server (a private one is started): pass --include-ignored"]
async fn a_redis_killed_under_load_makes_no_request_wait_and_caching_comes_back_by_itself() {
    let mut redis = PrivateRedis::start().await;
    let settings = vec![
        ("REDIS_URL", redis.url()),
        ("EMPORIUM_REDIS_PREFIX", "outage:".to_owned()),
    ];
    let a = spawn(Spawn {
        settings: settings.clone(),
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let b = spawn(Spawn {
        settings,
        no_worker: true,
        database: Some(TestDatabase::shared(a.db_url())),
        ..Spawn::default()
    })
    .await;
    let staff = b.staff_token().await;
    let id = product(&b, &staff, "Lamp", &price(0), 5).await;
    let path = format!("/api/products/{id}/");
    let committed = Arc::new(AtomicI64::new(0));
    let (a, b) = (Arc::new(a), Arc::new(b));
    let stop = Arc::new(AtomicBool::new(false));
    let load = read_load(
        vec![a.clone(), b.clone()],
        path.clone(),
        committed.clone(),
        stop.clone(),
    );
    let mut step = 0;
    for _ in 0..3 {
        step += 1;
        assert_eq!(raise(&b, &staff, &path, step).await.0, 200);
        committed.store(step, Ordering::SeqCst);
    }

    redis.kill();
    // Writes that need Redis refuse at once and change nothing; /ready/ says why at once.
    for _ in 0..3 {
        let (status, took) = raise(&b, &staff, &path, step + 1).await;
        assert_eq!(status, 503, "a write without Redis");
        assert!(took < Duration::from_secs(1), "refused in {took:?}");
    }
    let (status, took, ready, _) = timed_get(&a, "/ready/").await;
    assert_eq!(status, 503, "{ready}");
    assert!(took < Duration::from_secs(1), "/ready/ took {took:?}");
    assert_eq!(ready["checks"]["redis"], "unavailable", "{ready}");
    for node in [&a, &b] {
        let (status, took, body, _) = timed_get(node, &path).await;
        assert_eq!((status, &body["price"]), (200, &json!(price(step))));
        assert!(took < Duration::from_secs(1), "a read took {took:?}");
    }
    // Throttles count in process meanwhile: a login is judged at once, not refused.
    let started = Instant::now();
    let (status, body) = a
        .post(
            "/api/auth/login/",
            None,
            json!({"email": "nobody@example.com", "password": "not the password"}),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(started.elapsed() < Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(1500)).await;

    redis.restart().await;
    let back = eventually(Duration::from_secs(10), || async {
        raise(&b, &staff, &path, step + 1).await.0 == 200
    })
    .await;
    assert!(back, "writes never came back after Redis did");
    step += 1;
    committed.store(step, Ordering::SeqCst);
    for node in [&a, &b] {
        let (status, _, body, _) = timed_get(node, &path).await;
        assert_eq!((status, &body["price"]), (200, &json!(price(step))));
    }
    let cached = eventually(Duration::from_secs(10), || async {
        timed_get(&a, &path).await.3.as_deref() == Some("hit")
    })
    .await;
    assert!(cached, "node A never cached again");
    let (status, _, ready, _) = timed_get(&a, "/ready/").await;
    assert_eq!(status, 200, "{ready}");

    stop.store(true, Ordering::SeqCst);
    let seen = load.await.expect("load");
    assert!(seen.len() > 20, "the load ran: {} reads", seen.len());
    for read in &seen {
        assert!(
            read.status == 200 || read.status == 503,
            "only 200 or 503: {read:?}"
        );
        assert!(read.took <= Duration::from_secs(1), "a slow read: {read:?}");
        if let Some(shown) = &read.price {
            assert!(
                cents(shown) >= cents(&price(read.committed_before)),
                "stale: {read:?}"
            );
        }
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (a private cluster is started): pass --include-ignored"]
async fn a_database_restarted_under_load_costs_bounded_503s_and_loses_nothing_committed() {
    let postgres = PrivatePostgres::start().await;
    let app = Arc::new(
        spawn(Spawn {
            settings: vec![
                ("EMPORIUM_DB_ACQUIRE_TIMEOUT", "1s".to_owned()),
                ("EMPORIUM_JOB_POLL_INTERVAL", "100ms".to_owned()),
            ],
            database: Some(TestDatabase::shared(&postgres.url())),
            ..Spawn::default()
        })
        .await,
    );
    let staff = Arc::new(app.staff_token().await);
    new_category(&app, &staff, "Before", None).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (app, staff, stop) = (app.clone(), staff.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let name = format!("Shelf {w}-{n}");
                let started = Instant::now();
                let response = app
                    .request(Method::POST, "/api/categories/", Some(&staff))
                    .json(&json!({ "name": name }))
                    .send()
                    .await
                    .expect("sent");
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                seen.push((name, status, started.elapsed(), retry_after));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    postgres.down();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, took, _, _) = timed_get(&app, "/health/").await;
    assert_eq!(status, 200, "alive while the database is down");
    assert!(took < Duration::from_secs(1));
    let (status, took, ready, _) = timed_get(&app, "/ready/").await;
    assert_eq!(status, 503, "{ready}");
    assert!(took < Duration::from_secs(3), "/ready/ took {took:?}");
    let (status, took, _, _) = timed_get(&app, "/api/categories/").await;
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(3), "a read took {took:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    postgres.up().await;

    let recovered = eventually(Duration::from_secs(15), || async {
        timed_get(&app, "/ready/").await.0 == 200
    })
    .await;
    assert!(recovered, "the node never came back");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut seen = Vec::new();
    for writer in writers {
        seen.extend(writer.await.expect("writer"));
    }

    let refused = seen.iter().filter(|(_, status, ..)| *status == 503).count();
    assert!(refused > 0, "the outage was seen");
    for (name, status, took, retry_after) in &seen {
        assert!(
            *status == 201 || *status == 503,
            "{name}: only 201 or 503, got {status}"
        );
        assert!(
            *took < Duration::from_secs(4),
            "{name}: {status} after {took:?}"
        );
        if *status == 503 {
            assert!(retry_after, "{name}: a 503 says when to retry");
        }
    }
    // Every creation that answered 201 is there.
    let (status, listed) = app.get_as("/api/categories/?page_size=100", None).await;
    assert_eq!(status, 200);
    let mut names: Vec<String> = listed["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let mut page = 2;
    while names.len() < listed["count"].as_u64().unwrap_or(0) as usize {
        let (_, more) = app
            .get_as(&format!("/api/categories/?page_size=100&page={page}"), None)
            .await;
        names.extend(
            more["results"]
                .as_array()
                .expect("results")
                .iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned)),
        );
        page += 1;
    }
    for (name, status, ..) in &seen {
        if *status == 201 {
            assert!(names.contains(name), "{name} answered 201 and is gone");
        }
    }
    // The worker backed off and resumed: a job queued now runs.
    let (status, _) = app
        .post(
            "/api/auth/password/reset/",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(status, 204);
    let ran = eventually(Duration::from_secs(15), || async {
        let (_, jobs) = app
            .get_as("/api/admin/jobs/?state=done", Some(&staff))
            .await;
        jobs["results"]
            .as_array()
            .is_some_and(|j| j.iter().any(|j| j["kind"] == "accounts.password_reset"))
    })
    .await;
    assert!(
        ran,
        "the worker never ran a job after the database came back"
    );
}

#[tokio::test]
async fn a_payment_provider_that_never_answers_costs_create_intent_its_timeout_then_503() {
    let silent = SilentServer::start().await;
    let app = spawn(Spawn {
        settings: vec![
            ("EMPORIUM_PAYMENT_PROVIDER", "stripe".to_owned()),
            ("STRIPE_API_BASE", format!("http://{}", silent.addr)),
            ("STRIPE_SECRET_KEY", "sk_test_silent".to_owned()),
            ("STRIPE_WEBHOOK_SECRET", "whsec_silent".to_owned()),
            ("EMPORIUM_OUTGOING_TIMEOUT", "1s".to_owned()),
            ("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", "1s".to_owned()),
        ],
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let staff = app.staff_token().await;
    let placed = customer_order(&app, &staff, Basket::boots(1)).await;
    let started = Instant::now();
    let (status, body) = create_intent(&app, &placed.token, &placed.id, &[]).await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(2),
        "answered after the 1 s timeout, not before and not much later: {took:?}"
    );
    // Nothing was recorded, and the order's claim is free for the app's retry.
    use sea_orm::{EntityTrait, PaginatorTrait};
    let payments = emporium::payments::payment::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count");
    let claims = emporium::payments::payment_claim::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count");
    assert_eq!((payments, claims), (0, 0));
}

#[tokio::test]
async fn a_bucket_and_a_mail_server_that_never_answer_cost_their_timeout_then_fail() {
    let silent = SilentServer::start().await;
    let app = spawn(Spawn {
        settings: vec![
            ("EMPORIUM_MEDIA_STORE", "s3://silent-bucket/shop".to_owned()),
            ("AWS_ENDPOINT_URL", format!("http://{}", silent.addr)),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("EMAIL_URL", format!("smtp://{}?tls=none", silent.addr)),
            ("EMPORIUM_OUTGOING_TIMEOUT", "1s".to_owned()),
            ("EMPORIUM_OUTGOING_CONNECT_TIMEOUT", "1s".to_owned()),
        ],
        no_worker: true,
        ..Spawn::default()
    })
    .await;
    let within =
        |took: Duration| took >= Duration::from_millis(900) && took < Duration::from_secs(3);

    // Media served from the bucket: 503, after the timeout.
    let (status, took, body, _) = timed_get(&app, "/media/products/0123abcd.png").await;
    assert_eq!(status, 503, "{body}");
    assert!(within(took), "the bucket cost {took:?}");

    // A message: the send fails after the timeout, to be retried by the queue.
    let started = Instant::now();
    let sent = crate::helpers::run_job::<emporium::email::job::SendEmail>(
        emporium::jobs::JobContext {
            state: app.state.clone(),
            job_id: 0,
            attempt: 1,
        },
        json!({"to": "ada@example.com", "subject": "s", "text": "t", "html": "<p>t</p>"}),
    )
    .await;
    assert!(
        matches!(sent, Err(emporium::jobs::JobError::Retry(_))),
        "{sent:?}"
    );
    assert!(
        within(started.elapsed()),
        "the mail server cost {:?}",
        started.elapsed()
    );
}
