//! Stock alerts: when an order takes a variant's stock from above `EMPORIUM_LOW_STOCK_THRESHOLD`
//! to it or below, the order's transaction queues one alert job — only the order that crosses
//! the line does, so staff get one email per variant going low, not one per order while it
//! stays low. The job mails every active staff member the variants (product, options, SKU) and
//! their stock now.

use serde::{Deserialize, Serialize};

use crate::catalog::inventory::Applied;
use crate::catalog::lookups;
use crate::email::{self, STOCK_ALERT};
use crate::jobs::{Job, JobContext, JobError};

/// Mails every active staff member (one queued email each) these variants and their stock.
#[derive(Debug, Serialize, Deserialize)]
pub struct StockAlert {
    /// The variants' products (all an alert queued before variants named).
    #[serde(default)]
    pub product_ids: Vec<i64>,
    /// The variants that went low.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_ids: Vec<i64>,
}

impl Job for StockAlert {
    const KIND: &'static str = "orders.stock_alert";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        alert(&ctx, self).await
    }
}

/// The alert for the variants that `applied` (deductions of `taken` units each, by variant)
/// took across `threshold`, if any.
pub fn crossing(applied: &[Applied], taken: &[(i64, i64)], threshold: i64) -> Option<StockAlert> {
    let low: Vec<&Applied> = applied
        .iter()
        .filter(|a| {
            let units = taken
                .iter()
                .filter(|(id, _)| *id == a.variant_id)
                .map(|(_, q)| *q)
                .sum::<i64>();
            a.stock_after <= threshold && a.stock_after + units > threshold
        })
        .collect();
    (!low.is_empty()).then(|| StockAlert {
        product_ids: low.iter().map(|a| a.product_id).collect(),
        variant_ids: low.iter().map(|a| a.variant_id).collect(),
    })
}

/// One line per variant that went low: `- Tee, Size M, Colour Red (SKU TEE-R-M): 2 left`; an
/// alert of an older version names products only.
async fn low_lines(ctx: &JobContext, alert: StockAlert) -> Result<Vec<String>, JobError> {
    let db = &ctx.state.db;
    let products = lookups::products_by_id(db, alert.product_ids).await?;
    if alert.variant_ids.is_empty() {
        return Ok(products
            .iter()
            .map(|p| format!("- {} (id {}): {} left", p.name, p.id, p.stock))
            .collect());
    }
    let variants = lookups::variants_by_id(db, &alert.variant_ids).await?;
    Ok(alert
        .variant_ids
        .iter()
        .filter_map(|id| variants.get(id))
        .filter_map(|v| {
            let product = products.iter().find(|p| p.id == v.product_id)?;
            let label = lookups::variant_label(product, v);
            let name = if label.is_empty() {
                product.name.clone()
            } else {
                format!("{}, {label}", product.name)
            };
            Some(format!(
                "- {name} (SKU {}, variant {}): {} left",
                v.sku, v.id, v.stock
            ))
        })
        .collect())
}

async fn alert(ctx: &JobContext, alert: StockAlert) -> Result<(), JobError> {
    let state = &ctx.state;
    let lines = low_lines(ctx, alert).await?;
    if lines.is_empty() {
        return Ok(());
    }
    let list = lines.join("\n");
    let threshold = state.settings.orders.low_stock_threshold.to_string();
    for address in crate::accounts::service::staff_emails(&state.db).await? {
        let message = STOCK_ALERT
            .render(
                &address,
                &[
                    ("shop", state.settings.shop_name.as_str()),
                    ("threshold", threshold.as_str()),
                    ("products", list.as_str()),
                ],
            )
            .map_err(|e| JobError::Permanent(e.to_string()))?;
        email::job::enqueue(&state.db, message).await?;
    }
    Ok(())
}
