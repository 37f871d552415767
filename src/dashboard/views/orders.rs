//! The orders list and an order's page.

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::Layout;
use super::forms::FormErrors;
use super::pager::Pager;
use crate::orders::status::{OrderStatus, PaymentStatus};
use crate::orders::views::OrderView;

/// The list's filters as typed (they fill the form again, and the page links keep them).
#[derive(Debug, Default, Deserialize)]
pub struct OrderQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub payment_status: String,
    /// First day placed (YYYY-MM-DD, the shop's day).
    #[serde(default)]
    pub from: String,
    /// Last day placed, included.
    #[serde(default)]
    pub to: String,
    /// Part of the customer's email.
    #[serde(default)]
    pub q: String,
    pub page: Option<String>,
}

impl OrderQuery {
    /// The filters for the page links.
    pub fn pairs(&self) -> [(&str, &str); 5] {
        [
            ("status", self.status.as_str()),
            ("payment_status", self.payment_status.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("q", self.q.as_str()),
        ]
    }
}

/// An instant as the shop's clock shows it.
pub fn shop_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// An address as lines, the empty ones left out.
pub fn address_lines(a: &crate::accounts::postal::ShippingAddress) -> Vec<String> {
    [
        a.full_name.clone(),
        a.line1.clone(),
        a.line2.clone(),
        format!("{} {} {}", a.postal_code, a.city, a.state)
            .trim()
            .to_owned(),
        a.country.clone(),
        a.phone.clone().unwrap_or_default(),
    ]
    .into_iter()
    .filter(|line| !line.trim().is_empty())
    .collect()
}

/// One row of the list.
pub struct OrderRow {
    pub id: String,
    pub short_id: String,
    pub placed: String,
    pub customer: String,
    pub status: &'static str,
    pub payment_status: &'static str,
    pub total: String,
    pub currency: String,
}

#[derive(Template)]
#[template(path = "orders.html")]
pub struct OrdersPage {
    pub layout: Layout,
    pub query: OrderQuery,
    pub rows: Vec<OrderRow>,
    pub pager: Pager,
    pub errors: FormErrors,
}

impl OrdersPage {
    pub fn statuses(&self) -> Vec<&'static str> {
        OrderStatus::ALL.iter().map(|s| s.as_str()).collect()
    }

    pub fn payment_statuses(&self) -> Vec<&'static str> {
        PaymentStatus::ALL.iter().map(|s| s.as_str()).collect()
    }
}

/// A payment as the order's page shows it.
pub struct PaymentFacts {
    pub provider: String,
    pub reference: String,
    pub status: crate::payments::payment::PaymentState,
    pub amount: String,
    pub refunds: Vec<(String, String, String)>,
}

/// A stock movement as the order's page shows it.
pub struct MovementRow {
    pub at: String,
    pub variant_id: i64,
    pub delta: i64,
    pub stock_after: i64,
    pub reason: String,
}

/// An email about the order.
pub struct EmailRow {
    pub to: String,
    pub subject: String,
    pub state: &'static str,
    pub at: String,
}

/// One line of the order, its options written out.
pub struct LineRow {
    pub name: String,
    pub sku: String,
    pub options: String,
    pub price: String,
    pub quantity: i64,
    pub subtotal: String,
}

#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage {
    pub layout: Layout,
    pub order: OrderView,
    pub lines: Vec<LineRow>,
    pub placed: String,
    pub shipped: Option<String>,
    pub delivered: Option<String>,
    pub customer: String,
    pub customer_id: i64,
    pub address: Vec<String>,
    pub payment: Option<PaymentFacts>,
    pub movements: Vec<MovementRow>,
    pub emails: Vec<EmailRow>,
    pub can_ship: bool,
    pub can_deliver: bool,
    pub can_cancel: bool,
    pub has_invoice: bool,
    /// What the ship form was given, to fill it again after a refusal.
    pub carrier: String,
    pub tracking_number: String,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
}
