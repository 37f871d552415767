//! Probe routes mounted by the tests behind the real middleware, so that the shared plumbing
//! (extractors, pagination, error bodies, transactions) is exercised over HTTP before the apps
//! that use it exist.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use emporium::db;
use emporium::http::error::{ApiResult, internal};
use emporium::http::extract::{Fields, Form, FromFields};
use emporium::http::pagination::{Page, Pagination};
use emporium::http::route;
use emporium::money::Money;
use emporium::state::AppState;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait as _};
use serde::Deserialize;
use serde_json::{Value, json};

/// What `/api/_probe/echo/` accepts.
pub struct Echo {
    name: String,
    quantity: i64,
    price: Option<Money>,
}

impl FromFields for Echo {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let name = fields.required::<String>("name");
        let quantity = fields.optional::<i64>("quantity").unwrap_or(1);
        if quantity < 1 && !fields.has_error("quantity") {
            fields.error(
                "quantity",
                "Ensure this value is greater than or equal to 1.",
            );
        }
        let price = fields.optional::<String>("price").and_then(|text| {
            match Money::parse(&text, emporium::money::Currency::USD) {
                Ok(money) => Some(money),
                Err(e) => {
                    fields.error("price", e.to_string());
                    None
                }
            }
        });
        if name.as_deref() == Some("forbidden") {
            fields.error(
                "non_field_errors",
                "This name and quantity cannot go together.",
            );
        }
        Some(Echo {
            name: name?,
            quantity,
            price,
        })
    }
}

async fn echo(State(state): State<AppState>, Form(echo): Form<Echo>) -> Json<Value> {
    let currency = state.settings.currency;
    Json(json!({
        "name": echo.name,
        "quantity": echo.quantity,
        "price": echo.price.map(|p| p.format(currency)),
        "currency": currency.code(),
        "at": emporium::time::rfc3339(emporium::time::now()),
    }))
}

async fn panic_now() -> Json<Value> {
    panic!("probe panicked on purpose");
}

#[derive(Deserialize)]
struct Sleep {
    ms: u64,
}

async fn slow(Query(sleep): Query<Sleep>) -> Json<Value> {
    tokio::time::sleep(Duration::from_millis(sleep.ms)).await;
    Json(json!({"slept": sleep.ms}))
}

#[derive(Deserialize)]
struct Count {
    count: u64,
}

async fn numbers(Query(count): Query<Count>, pagination: Pagination) -> ApiResult<Json<Page<u64>>> {
    let results: Vec<u64> = (1..=count.count)
        .skip(usize::try_from(pagination.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(pagination.limit()).unwrap_or(usize::MAX))
        .collect();
    Ok(Json(pagination.page(count.count, results)?))
}

/// Reads the counter, then writes it back plus one, in one write transaction.
async fn increment(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let tx = db::begin_exclusive(&state.db, "probe-counter").await?;
    let backend = tx.get_database_backend();
    let row = tx
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT n FROM probe_counter WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| internal("no counter row"))?;
    let before: i64 = row.try_get("", "n").map_err(internal)?;
    // Give concurrent writers every chance to interleave.
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Writes what it read plus one: without the exclusive transaction, two writers that read
    // the same value would both write the same next one, and an increment would be lost.
    tx.execute_raw(Statement::from_string(
        backend,
        format!("UPDATE probe_counter SET n = {} WHERE id = 1", before + 1),
    ))
    .await?;
    tx.commit().await?;
    Ok(Json(json!({"before": before})))
}

/// The probe routes.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    router = route(router, "/api/_probe/echo/", post(echo));
    router = route(router, "/api/_probe/panic/", get(panic_now));
    router = route(router, "/api/_probe/slow/", get(slow));
    router = route(router, "/api/_probe/numbers/", get(numbers));
    router = route(router, "/api/_probe/increment/", post(increment));
    router
}

/// Creates the table `increment` uses, with one row at zero.
pub async fn create_counter(state: &AppState) {
    let backend = state.db.get_database_backend();
    let tx = state.db.begin().await.expect("begin");
    tx.execute_raw(Statement::from_string(
        backend,
        "CREATE TABLE probe_counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)",
    ))
    .await
    .expect("create probe table");
    tx.execute_raw(Statement::from_string(
        backend,
        "INSERT INTO probe_counter (id, n) VALUES (1, 0)",
    ))
    .await
    .expect("insert counter row");
    tx.commit().await.expect("commit");
}
