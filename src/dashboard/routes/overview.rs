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
use crate::payments::staff as payments;
use crate::state::AppState;
use crate::{time, webhooks};

/// The days of the chart.
const DAYS: u32 = 30;

pub async fn page(State(state): State<AppState>, Staff(staff): Staff) -> Response {
    match figures(&state).await {
        Ok(figures) => page::render(&OverviewPage {
            layout: super::layout(&state, &staff, "overview"),
            figures,
        }),
        Err(refusal) => refusal.page(),
    }
}

async fn figures(state: &AppState) -> Result<Figures, Refusal> {
    let db = &state.db;
    let (dates, bounds) = last_days(state.settings.time_zone, time::now(), DAYS);
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
    let attention = Attention {
        low_stock: inventory::low_stock_count(db, threshold).await?,
        threshold,
        failed_payments: payments::failed_count(db).await?,
        dead_jobs,
        failing_webhooks: webhooks::service::failing_count(db).await?,
    };
    Ok(Figures::new(
        state.settings.currency,
        &dates,
        &daily.placed,
        &revenue,
        orders::count_by_status(db).await?,
        attention,
    ))
}
