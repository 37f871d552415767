//! The command line: `serve`, `worker`, `migrate`, `createsuperuser`, `openapi`, `check`.

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::accounts::service::{CreateUserError, create_superuser};
use crate::db;
use crate::gate::Gate;
use crate::jobs::worker::{Worker, WorkerConfig};
use crate::settings::Settings;
use crate::startup::{Application, BuildOptions, build_state};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "emporium",
    version,
    about = "The backend of a shop: REST API and background jobs"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// One operator action.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (and run background jobs in-process unless --no-worker).
    Serve {
        /// Do not run background jobs in this process (run `emporium worker` instead).
        #[arg(long)]
        no_worker: bool,
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Run background jobs only.
    Worker,
    /// Apply pending database migrations.
    Migrate,
    /// Create a staff account.
    Createsuperuser {
        /// The account's email.
        #[arg(long)]
        email: String,
        /// The password; prompted for (twice, not echoed) when omitted.
        #[arg(long)]
        password: Option<String>,
    },
    /// Count the dashboard's tallies (orders by status, sales and refunds per day) again from
    /// the orders and refunds — after orders were written or mended by hand. Stop the shop's
    /// servers and workers first: orders placed meanwhile could be counted twice or not at all.
    Recount,
    /// Load a small demo catalog (categories and products) to try the API with.
    DemoData,
    /// Print the OpenAPI document.
    Openapi,
    /// Validate the settings and reach every configured service.
    Check,
}

/// A command that failed after start-up (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Start-up failed.
    #[error(transparent)]
    Startup(#[from] crate::startup::StartupError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// Something else, already phrased for the operator.
    #[error("{0}")]
    Message(String),
}

/// Resolves when SIGTERM or SIGINT arrives.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Runs a command with validated settings.
pub async fn run(command: Command, settings: Settings) -> Result<(), CliError> {
    match command {
        Command::Serve {
            no_worker,
            no_migrate,
        } => {
            for warning in settings.warnings() {
                tracing::warn!("{warning}");
            }
            let app = Application::build_with(
                settings,
                BuildOptions {
                    skip_migrations: no_migrate,
                    extra_routes: None,
                    worker: (!no_worker).then(crate::startup::job_registry),
                },
            )
            .await?;
            tracing::info!(address = %app.local_addr(), worker = !no_worker, "serving");
            app.run_until_stopped(shutdown_signal()).await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Worker => {
            for warning in settings.warnings() {
                tracing::warn!("{warning}");
            }
            // Workers never migrate: that is `serve`'s or `migrate`'s job.
            let state = build_state(settings, true).await?;
            let config = WorkerConfig::from_settings(&state.settings);
            Worker::new(state, crate::startup::job_registry(), config)
                .run(shutdown_signal())
                .await;
            Ok(())
        }
        Command::Migrate => {
            let db = db::connect(&settings.database_url, settings.db_max_connections).await?;
            crate::startup::migrate(&db, &settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Recount => {
            let db = db::connect(&settings.database_url, settings.db_max_connections).await?;
            db::migrate(&db).await?;
            let tx = db::begin_write(&db).await?;
            db::migrations::recount_tallies(&tx).await?;
            tx.commit().await?;
            println!("tallies counted again");
            Ok(())
        }
        Command::Createsuperuser { email, password } => {
            let password = match password {
                Some(p) => p,
                None => prompt_password()?,
            };
            let db = db::connect(&settings.database_url, settings.db_max_connections).await?;
            db::migrate(&db).await?;
            match create_superuser(&db, &Gate::new(1, 0), &email, &password).await {
                Ok(user) => {
                    println!("staff account {} created (id {})", user.email, user.id);
                    Ok(())
                }
                Err(CreateUserError::Database(e)) => Err(CliError::Database(e)),
                Err(e) => Err(CliError::Message(e.to_string())),
            }
        }
        Command::DemoData => {
            let state = build_state(settings, false).await?;
            let showing = crate::catalog::products::shown::Showing {
                storage: Some(&state.storage),
                base_url: state.settings.public_url.as_deref().unwrap_or(""),
                currency: state.settings.currency,
            };
            let language = state.settings.search_language;
            let added = crate::catalog::demo::load(&state.db, &state.cache, language, showing)
                .await
                .map_err(|e| CliError::Message(format!("demo data: {e}")))?;
            println!("demo catalog loaded ({added} products added)");
            Ok(())
        }
        Command::Openapi => {
            println!("{}", crate::openapi::document_json());
            Ok(())
        }
        Command::Check => check(settings).await,
    }
}

/// `check`: the settings are valid (they were read to get here), and the database (and its
/// replica, which must be replaying), email, media storage, Redis (when the throttles share one)
/// and the events broker (when one is configured: reached, its stream or exchange made) answer.
async fn check(settings: Settings) -> Result<(), CliError> {
    let connect = db::connect(&settings.database_url, settings.db_max_connections);
    let db = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| CliError::Message("database: no answer within 10s".to_owned()))??;
    db.ping().await?;
    println!("settings: ok");
    println!("database: ok ({:?})", db.get_database_backend());
    let state = build_state(settings, true).await?;
    state
        .mailer
        .check()
        .await
        .map_err(|e| CliError::Message(format!("email: {e}")))?;
    println!("email: ok");
    state
        .storage
        .check()
        .await
        .map_err(|e| CliError::Message(format!("media storage: {e}")))?;
    println!("media storage: ok");
    if let Some(replica) = &state.replica {
        let replayed = crate::db::replica::replayed_position(replica.db());
        match tokio::time::timeout(Duration::from_secs(10), replayed).await {
            Ok(Ok(Some(_))) => println!("replica: ok"),
            Ok(Ok(None)) => {
                return Err(CliError::Message(
                    "replica: DATABASE_REPLICA_URL answers but is not replaying a primary"
                        .to_owned(),
                ));
            }
            Ok(Err(e)) => return Err(CliError::Message(format!("replica: {e}"))),
            Err(_) => {
                return Err(CliError::Message(
                    "replica: no answer within 10s".to_owned(),
                ));
            }
        }
    }
    if state.throttle.is_shared() {
        state
            .throttle
            .ping()
            .await
            .map_err(|e| CliError::Message(format!("redis: {e}")))?;
        println!("redis: ok");
    }
    if let Some(broker) = &state.broker {
        broker
            .ping()
            .await
            .map_err(|e| CliError::Message(format!("broker ({}): {e}", broker.describe())))?;
        println!("broker: ok ({})", broker.describe());
    }
    Ok(())
}

fn prompt_password() -> Result<String, CliError> {
    let no_terminal = |e: std::io::Error| {
        CliError::Message(format!(
            "cannot prompt for the password ({e}); pass --password"
        ))
    };
    let first = rpassword::prompt_password("Password: ").map_err(no_terminal)?;
    let second = rpassword::prompt_password("Password (again): ").map_err(no_terminal)?;
    if first != second {
        return Err(CliError::Message("the passwords do not match".to_owned()));
    }
    Ok(first)
}
