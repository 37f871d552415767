//! The durable queue on the configured engine: exactly-once runs across workers, leases,
//! backoff, dead jobs, the transactional outbox, periodic jobs and shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emporium::db;
use emporium::jobs::queue::{self, NewJob};
use emporium::jobs::worker::{Worker, WorkerConfig};
use emporium::jobs::{JobError, Registry, job};
use emporium::startup::build_state;
use emporium::state::AppState;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::{TestDatabase, eventually, test_settings};

/// Runs seen by a test handler: job id → how many times it ran.
type Runs = Arc<Mutex<HashMap<i64, u32>>>;

fn recording(kind: &'static str, runs: &Runs) -> Registry {
    let runs = runs.clone();
    let mut registry = Registry::new();
    registry.register_raw(kind, move |ctx, _payload: Value| {
        let runs = runs.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            *runs.lock().expect("lock").entry(ctx.job_id).or_default() += 1;
            Ok(())
        }
    });
    registry
}

/// A state of its own (its own pool), as another process would have.
async fn process_state(
    database: &TestDatabase,
    migrate: bool,
    dir: &tempfile::TempDir,
) -> AppState {
    let settings = test_settings(
        &database.url,
        &[("EMPORIUM_DB_MAX_CONNECTIONS", "4")],
        dir.path(),
    );
    build_state(settings, !migrate).await.expect("state")
}

fn config(id: &str, concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        id: id.to_owned(),
        concurrency,
        poll_interval: Duration::from_millis(20),
        lease: Duration::from_secs(30),
        retry_base: Duration::from_millis(100),
        grace: Duration::from_secs(5),
    }
}

struct RunningWorker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

fn start(state: AppState, registry: Registry, config: WorkerConfig) -> RunningWorker {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(Worker::new(state, registry, config).run(async move {
        let _ = stopped.await;
    }));
    RunningWorker { stop, task }
}

impl RunningWorker {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

async fn count_in(state: &AppState, job_state: &str) -> u64 {
    job::Entity::find()
        .filter(job::Column::State.eq(job_state))
        .count(&state.db)
        .await
        .expect("count")
}

async fn job_row(state: &AppState, id: i64) -> job::Model {
    job::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .expect("query")
        .expect("job exists")
}

#[tokio::test]
async fn every_job_runs_exactly_once_however_many_workers_claim() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let main = process_state(&database, true, &dir).await;
    let jobs = 120;
    let mut ids = Vec::new();
    for n in 0..jobs {
        ids.push(
            queue::insert(&main.db, NewJob::new("test.record", json!({ "n": n })))
                .await
                .expect("enqueue"),
        );
    }
    let runs: Runs = Arc::default();
    let mut workers = Vec::new();
    for w in 0..4 {
        let state = process_state(&database, false, &dir).await;
        workers.push(start(
            state,
            recording("test.record", &runs),
            config(&format!("w{w}"), 4),
        ));
    }
    let finished = eventually(Duration::from_secs(90), || async {
        count_in(&main, "done").await == jobs
    })
    .await;
    for worker in workers {
        worker.stop().await;
    }
    assert!(finished, "not every job finished");
    let runs = runs.lock().expect("lock").clone();
    assert_eq!(runs.len(), ids.len());
    assert!(runs.values().all(|n| *n == 1), "a job ran twice: {runs:?}");
    assert_eq!(count_in(&main, "running").await, 0);
}

#[tokio::test]
async fn a_job_whose_worker_died_runs_again_after_its_lease() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = process_state(&database, true, &dir).await;
    let id = queue::insert(&state.db, NewJob::new("test.record", json!({})))
        .await
        .expect("enqueue");
    // A worker claims it with a one-second lease and dies without a word.
    let claimed = queue::claim(&state.db, "killed-worker", 10, Duration::from_secs(1))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);

    let runs: Runs = Arc::default();
    let started = Instant::now();
    let worker = start(
        state.clone(),
        recording("test.record", &runs),
        config("survivor", 2),
    );
    let done = eventually(Duration::from_secs(20), || async {
        job_row(&state, id).await.state.as_str() == "done"
    })
    .await;
    worker.stop().await;
    assert!(done, "the abandoned job never ran again");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "it must wait for the lease"
    );
    assert_eq!(runs.lock().expect("lock").get(&id), Some(&1));
    let row = job_row(&state, id).await;
    assert_eq!(row.attempts, 2, "the lost run counts as an attempt");
}

#[tokio::test]
async fn failures_are_retried_with_growing_delays_and_end_dead_with_the_error() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = process_state(&database, true, &dir).await;
    let calls: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let mut registry = Registry::new();
    let seen = calls.clone();
    registry.register_raw("test.flaky", move |_ctx, _payload: Value| {
        let seen = seen.clone();
        async move {
            seen.lock().expect("lock").push(Instant::now());
            Err(JobError::retry("the mail server said 451"))
        }
    });
    let mut job = NewJob::new("test.flaky", json!({}));
    job.max_attempts = 3;
    let id = queue::insert(&state.db, job).await.expect("enqueue");
    let worker = start(state.clone(), registry, config("w", 1));
    let dead = eventually(Duration::from_secs(20), || async {
        job_row(&state, id).await.state.as_str() == "dead"
    })
    .await;
    worker.stop().await;
    assert!(dead, "the job never went dead");
    let row = job_row(&state, id).await;
    assert_eq!(row.attempts, 3);
    assert_eq!(row.last_error.as_deref(), Some("the mail server said 451"));
    assert!(row.finished_at.is_some());
    let calls = calls.lock().expect("lock").clone();
    assert_eq!(calls.len(), 3);
    // base 100 ms with equal jitter: the first retry waits 50–100 ms, the second 100–200 ms.
    assert!(
        calls[1] - calls[0] >= Duration::from_millis(50),
        "{:?}",
        calls[1] - calls[0]
    );
    assert!(
        calls[2] - calls[1] >= Duration::from_millis(100),
        "{:?}",
        calls[2] - calls[1]
    );
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_exists() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = process_state(&database, true, &dir).await;
    let tx = db::begin_write(&state.db).await.expect("begin");
    queue::insert(&tx, NewJob::new("test.record", json!({"kept": false})))
        .await
        .expect("enqueue");
    tx.rollback().await.expect("rollback");
    let tx = db::begin_write(&state.db).await.expect("begin");
    let kept = queue::insert(&tx, NewJob::new("test.record", json!({"kept": true})))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");

    let runs: Runs = Arc::default();
    let worker = start(
        state.clone(),
        recording("test.record", &runs),
        config("w", 2),
    );
    let done = eventually(Duration::from_secs(10), || async {
        job_row(&state, kept).await.state.as_str() == "done"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    worker.stop().await;
    assert!(done);
    assert_eq!(
        job::Entity::find().count(&state.db).await.expect("count"),
        1
    );
    assert_eq!(
        runs.lock()
            .expect("lock")
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [kept]
    );
}

#[tokio::test]
async fn unreadable_jobs_go_dead_with_a_clear_error_and_the_worker_carries_on() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = process_state(&database, true, &dir).await;
    let not_json = job::ActiveModel {
        kind: Set(emporium::jobs::Kind("email.send".to_owned())),
        payload: Set("{not json".to_owned()),
        state: Set(emporium::jobs::State::Queued),
        attempts: Set(0),
        max_attempts: Set(5),
        run_at: Set(emporium::time::now()),
        created_at: Set(emporium::time::now()),
        updated_at: Set(emporium::time::now()),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .expect("insert")
    .id;
    let wrong_shape = queue::insert(&state.db, NewJob::new("email.send", json!({"to": 5})))
        .await
        .expect("enqueue");
    let unknown = queue::insert(&state.db, NewJob::new("nobody.knows", json!({})))
        .await
        .expect("enqueue");
    let good = queue::insert(&state.db, NewJob::new("test.record", json!({})))
        .await
        .expect("enqueue");

    let runs: Runs = Arc::default();
    let mut registry = recording("test.record", &runs);
    registry.register::<emporium::email::job::SendEmail>();
    let worker = start(state.clone(), registry, config("w", 2));
    let settled = eventually(Duration::from_secs(10), || async {
        count_in(&state, "dead").await == 3 && count_in(&state, "done").await == 1
    })
    .await;
    worker.stop().await;
    assert!(
        settled,
        "bad jobs must go dead at once and the good one must run"
    );
    let error = |id| {
        let state = state.clone();
        async move { job_row(&state, id).await.last_error.unwrap_or_default() }
    };
    assert!(error(not_json).await.contains("payload is not JSON"));
    assert!(error(wrong_shape).await.contains("payload does not parse"));
    assert!(
        error(unknown)
            .await
            .contains("unknown job kind \"nobody.knows\"")
    );
    assert_eq!(job_row(&state, good).await.state.as_str(), "done");
    assert_eq!(
        job_row(&state, not_json).await.attempts,
        1,
        "no retries for a hopeless job"
    );
}

#[tokio::test]
async fn periodic_jobs_fire_once_per_period_however_many_workers_run() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = process_state(&database, true, &dir).await;
    let runs: Runs = Arc::default();
    let mut workers = Vec::new();
    for w in 0..3 {
        let mut registry = recording("test.tick", &runs);
        registry.schedule("test.tick", Duration::from_millis(400));
        let state = process_state(&database, false, &dir).await;
        workers.push(start(state, registry, config(&format!("w{w}"), 2)));
    }
    tokio::time::sleep(Duration::from_millis(1800)).await;
    for worker in workers {
        worker.stop().await;
    }
    let rows = job::Entity::find()
        .filter(job::Column::Kind.eq("test.tick"))
        .all(&state.db)
        .await
        .expect("rows");
    // Every row names a period ("test.tick@<n>"): three workers scheduled, one row each.
    assert!(rows.iter().all(|r| {
        r.unique_key
            .as_deref()
            .is_some_and(|k| k.starts_with("test.tick@"))
    }));
    assert!(
        (2..=7).contains(&rows.len()),
        "{} ticks in 1.8 s at 0.4 s",
        rows.len()
    );
    let runs = runs.lock().expect("lock").clone();
    assert!(runs.values().all(|n| *n == 1));
    let done = rows.iter().filter(|r| r.state.as_str() == "done").count();
    assert_eq!(runs.len(), done);
}

#[tokio::test]
async fn shutdown_lets_a_running_job_finish() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = process_state(&database, true, &dir).await;
    let mut registry = Registry::new();
    registry.register_raw("test.slow", |_ctx, _payload: Value| async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        Ok(())
    });
    let id = queue::insert(&state.db, NewJob::new("test.slow", json!({})))
        .await
        .expect("enqueue");
    let worker = start(state.clone(), registry, config("w", 1));
    let claimed = eventually(Duration::from_secs(5), || async {
        job_row(&state, id).await.state.as_str() == "running"
    })
    .await;
    assert!(claimed);
    worker.stop().await;
    assert_eq!(job_row(&state, id).await.state.as_str(), "done");
}

#[tokio::test]
async fn shutdown_releases_a_job_that_outlives_the_grace_period() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = process_state(&database, true, &dir).await;
    let mut registry = Registry::new();
    registry.register_raw("test.endless", |_ctx, _payload: Value| async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    });
    let id = queue::insert(&state.db, NewJob::new("test.endless", json!({})))
        .await
        .expect("enqueue");
    let mut short = config("w", 1);
    short.grace = Duration::from_millis(200);
    let worker = start(state.clone(), registry, short);
    let claimed = eventually(Duration::from_secs(5), || async {
        job_row(&state, id).await.state.as_str() == "running"
    })
    .await;
    assert!(claimed);
    worker.stop().await;
    let row = job_row(&state, id).await;
    assert_eq!(row.state.as_str(), "queued");
    assert_eq!(row.locked_by, None);
    assert_eq!(row.attempts, 0, "a released run is not counted");
}

/// The real thing: an `emporium worker` process is killed (SIGKILL) in the middle of sending a
/// mail; after its lease expires another worker sends it.
#[tokio::test]
async fn a_job_of_a_killed_worker_process_is_finished_by_another_worker() {
    use std::process::{Command, Stdio};

    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("dir");
    let state = process_state(&database, true, &dir).await;
    // A mail server that accepts connections and never answers: the job hangs in SMTP.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let silent_addr = silent.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let message = emporium::email::Email {
        to: "ada@example.com".to_owned(),
        subject: "Your order".to_owned(),
        text: "Thank you.".to_owned(),
        html: "<p>Thank you.</p>".to_owned(),
        attachments: Vec::new(),
    };
    let id = emporium::email::job::enqueue(&state.db, message.clone())
        .await
        .expect("enqueue");

    let mut child = Command::new(env!("CARGO_BIN_EXE_emporium"))
        .arg("worker")
        .current_dir(dir.path())
        .env("DATABASE_URL", &database.url)
        .env(
            "EMPORIUM_SECRET_KEY",
            "test-secret-key-that-is-long-enough-0123456789",
        )
        .env("EMAIL_URL", format!("smtp://{silent_addr}"))
        .env("EMPORIUM_JOB_LEASE", "1s")
        .env("EMPORIUM_JOB_POLL_INTERVAL", "50ms")
        .env("EMPORIUM_MEDIA_ROOT", dir.path().join("media"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker starts");
    let claimed = eventually(Duration::from_secs(20), || async {
        job_row(&state, id).await.state.as_str() == "running"
    })
    .await;
    assert!(claimed, "the worker process never claimed the job");
    // Still running a while later: the worker keeps renewing its lease.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(job_row(&state, id).await.state.as_str(), "running");
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");

    let smtp = crate::standins::SmtpServer::start().await;
    let settings = test_settings(
        &database.url,
        &[
            ("EMAIL_URL", &smtp.url()),
            ("EMPORIUM_DB_MAX_CONNECTIONS", "4"),
        ],
        dir.path(),
    );
    let rescuer_state = build_state(settings, true).await.expect("state");
    let mut registry = Registry::new();
    registry.register::<emporium::email::job::SendEmail>();
    let rescuer = start(rescuer_state, registry, config("rescuer", 1));
    let delivered = eventually(Duration::from_secs(20), || async {
        job_row(&state, id).await.state.as_str() == "done"
    })
    .await;
    rescuer.stop().await;
    held.abort();
    assert!(delivered, "the killed worker's job never ran again");
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(job_row(&state, id).await.attempts, 2);
}
