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

/// The days of the chart.
const DAYS: u32 = 30;

/// The numbers behind the page.
struct Numbers {
    placed: Vec<i64>,
    revenue: Vec<i64>,
    /// In the order of `OrderStatus::ALL`.
    by_status: Vec<i64>,
    low_stock: u64,
    failed_payments: u64,
    dead_jobs: u64,
    failing_webhooks: u64,
}

/// The overview, counted afresh for every look: the orders' figures are read from the tallies
/// their writers keep (a few rows per status and per quarter of an hour, however many orders
/// there are), the rest are counts of what needs attention through an index each.
pub async fn page(State(state): State<AppState>, Staff(staff): Staff) -> Response {
    let tz = state.settings.time_zone;
    let (dates, bounds) = last_days(tz, time::now(), DAYS);
    match numbers(&state, &bounds).await {
        Ok(n) => page::render(&OverviewPage {
            layout: super::layout(&state, &staff, "overview"),
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
    let daily = orders::daily(db, bounds).await?;
    let refunded = payments::refunded_daily(db, bounds).await?;
    let revenue: Vec<i64> = daily
        .paid_totals
        .iter()
        .zip(&refunded)
        .map(|(paid, back)| paid - back)
        .collect();
    let threshold = state.settings.orders.low_stock_threshold;
    let dead_jobs = queue::count_in(db, JobState::Dead).await?;
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
    })
}
