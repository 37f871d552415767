//! Stock alerts: when an order takes a product's stock from above `EMPORIUM_LOW_STOCK_THRESHOLD`
//! to it or below, the order's transaction queues one alert job — only the order that crosses
//! the line does, so staff get one email per product going low, not one per order while it
//! stays low. The job mails every active staff member the products and their stock now.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};

use crate::auth::user;
use crate::catalog::inventory::Applied;
use crate::catalog::lookups;
use crate::email::{self, STOCK_ALERT};
use crate::jobs::{Job, JobContext, JobError};

/// Mails every active staff member (one queued email each) these products and their stock.
#[derive(Debug, Serialize, Deserialize)]
pub struct StockAlert {
    /// The products that went low.
    pub product_ids: Vec<i64>,
}

impl Job for StockAlert {
    const KIND: &'static str = "orders.stock_alert";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        alert(&ctx, self.product_ids).await
    }
}

/// The alert for the products that `applied` (deductions of `taken` units each) took across
/// `threshold`, if any.
pub fn crossing(applied: &[Applied], taken: &[(i64, i64)], threshold: i64) -> Option<StockAlert> {
    let low: Vec<i64> = applied
        .iter()
        .filter(|a| {
            let units = taken
                .iter()
                .filter(|(id, _)| *id == a.product_id)
                .map(|(_, q)| *q)
                .sum::<i64>();
            a.stock_after <= threshold && a.stock_after + units > threshold
        })
        .map(|a| a.product_id)
        .collect();
    (!low.is_empty()).then_some(StockAlert { product_ids: low })
}

async fn alert(ctx: &JobContext, product_ids: Vec<i64>) -> Result<(), JobError> {
    let state = &ctx.state;
    let products = lookups::products_by_id(&state.db, product_ids).await?;
    if products.is_empty() {
        return Ok(());
    }
    let list = products
        .iter()
        .map(|p| format!("- {} (id {}): {} left", p.name, p.id, p.stock))
        .collect::<Vec<_>>()
        .join("\n");
    let threshold = state.settings.orders.low_stock_threshold.to_string();
    let staff = user::Entity::find()
        .filter(user::Column::IsStaff.eq(true))
        .filter(user::Column::IsActive.eq(true))
        .all(&state.db)
        .await?;
    for member in staff {
        let message = STOCK_ALERT
            .render(
                &member.email,
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
