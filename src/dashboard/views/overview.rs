//! The overview page: today's figures, the 30-day chart, orders by status, and what needs
//! attention — each a link to its list.

use askama::Template;
use chrono::NaiveDate;

use super::Layout;
use crate::money::{Currency, Money};
use crate::orders::status::OrderStatus;

/// What needs attention.
pub struct Attention {
    pub low_stock: u64,
    pub threshold: i64,
    pub failed_payments: u64,
    pub dead_jobs: u64,
    pub failing_webhooks: u64,
}

/// One day of the chart: a bar of its revenue, with its numbers for the table beside it.
pub struct Day {
    pub label: String,
    pub placed: i64,
    pub revenue: String,
    /// The bar's place and height in the chart's coordinates.
    pub x: u32,
    pub y: u32,
    pub height: u32,
}

/// Everything the page shows.
pub struct Figures {
    pub currency: &'static str,
    pub today_placed: i64,
    pub today_revenue: String,
    pub days: Vec<Day>,
    pub top_revenue: String,
    pub by_status: Vec<(&'static str, i64)>,
    pub attention: Attention,
}

/// The chart's drawing area: bars in `CHART_HEIGHT` units, `BAR` wide with `GAP` between.
pub const CHART_HEIGHT: u32 = 120;
const BAR: u32 = 8;
const GAP: u32 = 2;

impl Figures {
    /// The figures of `dates` (oldest first), their orders placed and revenue in minor units.
    pub fn new(
        currency: Currency,
        dates: &[NaiveDate],
        placed: &[i64],
        revenue: &[i64],
        by_status: Vec<(OrderStatus, i64)>,
        attention: Attention,
    ) -> Figures {
        let money = |minor: i64| Money::from_minor(minor).format(currency);
        let top = revenue.iter().copied().max().unwrap_or(0).max(0);
        let days = dates
            .iter()
            .zip(placed.iter().zip(revenue))
            .enumerate()
            .map(|(i, (date, (placed, revenue)))| {
                let height = if top == 0 {
                    0
                } else {
                    let scaled =
                        i128::from((*revenue).max(0)) * i128::from(CHART_HEIGHT) / i128::from(top);
                    u32::try_from(scaled).unwrap_or(CHART_HEIGHT)
                };
                let index = u32::try_from(i).unwrap_or(0);
                Day {
                    label: date.format("%b %-d").to_string(),
                    placed: *placed,
                    revenue: money(*revenue),
                    x: index * (BAR + GAP),
                    y: CHART_HEIGHT - height,
                    height,
                }
            })
            .collect::<Vec<_>>();
        Figures {
            currency: currency.code(),
            today_placed: placed.last().copied().unwrap_or(0),
            today_revenue: money(revenue.last().copied().unwrap_or(0)),
            top_revenue: money(top),
            days,
            by_status: by_status
                .into_iter()
                .map(|(status, n)| (status.as_str(), n))
                .collect(),
            attention,
        }
    }

    /// The chart's width in its coordinates.
    pub fn chart_width(&self) -> u32 {
        u32::try_from(self.days.len()).unwrap_or(0) * (BAR + GAP)
    }

    pub fn bar_width(&self) -> u32 {
        BAR
    }

    pub fn chart_height(&self) -> u32 {
        CHART_HEIGHT
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub figures: Figures,
}
