//! `GET /admin/`: the shop today and over the last 30 days, and what needs attention.

use axum::extract::State;
use axum::response::Response;

use crate::catalog::inventory;
use crate::dashboard::days::last_days;
use crate::dashboard::guard::Staff;
use crate::dashboard::page::{self, Refusal};
use crate::dashboard::views::overview::{Attention, Figures, OverviewPage};
use crate::jobs::job::State as JobState;
use crate::jobs::queue;
use crate::orders::staff as orders;
use crate::orders::status::OrderStatus;
use crate::payments::staff as payments;
use crate::state::AppState;
use crate::{time, webhooks};

/// The scope the overview's numbers are kept under. Nothing moves it: the minute in the key
/// ages them (a lookup reads one scope; with none, the Redis versions are not asked at all).
const OVERVIEW_SCOPE: &str = "dashboard:overview";

/// The days of the chart.
const DAYS: u32 = 30;

/// The numbers behind the page, kept a minute (see [`page`]).
#[derive(serde::Serialize, serde::Deserialize)]
struct Numbers {
    placed: Vec<i64>,
    revenue: Vec<i64>,
    /// In the order of `OrderStatus::ALL`.
    by_status: Vec<i64>,
    low_stock: u64,
    failed_payments: u64,
    dead_jobs: u64,
    failing_webhooks: u64,
    at: chrono::DateTime<chrono::Utc>,
}

/// The overview. Its numbers are counted at most once a minute per node (kept in the cache
/// under the minute): counting 30 days of orders and every order's status reads tens of
/// thousands of index entries on a big shop (60 and 35 ms at 100,000 orders), too much to do
/// for every look; the page says when they were counted.
pub async fn page(State(state): State<AppState>, Staff(staff): Staff) -> Response {
    let now = time::now();
    let tz = state.settings.time_zone;
    let (dates, bounds) = last_days(tz, now, DAYS);
    let key = format!("dashboard:overview:{}:{}", tz.name(), now.timestamp() / 60);
    let numbers = state
        .cache
        .value(key, &[OVERVIEW_SCOPE], || numbers(&state, &bounds))
        .await;
    match numbers {
        Ok(n) => page::render(&OverviewPage {
            layout: super::layout(&state, &staff, "overview"),
            counted_at: n.at.with_timezone(&tz).format("%H:%M").to_string(),
            figures: Figures::new(
                state.settings.currency,
                &dates,
                &n.placed,
                &n.revenue,
                OrderStatus::ALL.into_iter().zip(n.by_status).collect(),
                Attention {
                    low_stock: n.low_stock,
                    threshold: state.settings.orders.low_stock_threshold,
                    failed_payments: n.failed_payments,
                    dead_jobs: n.dead_jobs,
                    failing_webhooks: n.failing_webhooks,
                },
            ),
        }),
        Err(refusal) => refusal.page(),
    }
}

async fn numbers(
    state: &AppState,
    bounds: &[chrono::DateTime<chrono::Utc>],
) -> Result<Numbers, Refusal> {
    let db = &state.db;
    let bounds = bounds.to_vec();
    let daily = orders::daily(db, &bounds).await?;
    let refunded = payments::refunded_daily(db, &bounds).await?;
    let revenue: Vec<i64> = daily
        .paid_totals
        .iter()
        .zip(&refunded)
        .map(|(paid, back)| paid - back)
        .collect();
    let threshold = state.settings.orders.low_stock_threshold;
    let dead_jobs = queue::depth(db)
        .await?
        .into_iter()
        .find(|(s, _)| *s == JobState::Dead)
        .map_or(0, |(_, n)| n);
    Ok(Numbers {
        placed: daily.placed,
        revenue,
        by_status: orders::count_by_status(db)
            .await?
            .into_iter()
            .map(|(_, n)| n)
            .collect(),
        low_stock: inventory::low_stock_count(db, threshold).await?,
        failed_payments: payments::failed_count(db).await?,
        dead_jobs,
        failing_webhooks: webhooks::service::failing_count(db).await?,
        at: time::now(),
    })
}
