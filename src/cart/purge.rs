//! The hourly clean-up of idle carts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::store;
use crate::jobs::{Job, JobContext, JobError};
use crate::time;

/// Deletes carts nobody changed for `EMPORIUM_CART_RETENTION`, and those of deactivated
/// accounts; hourly.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PurgeCarts {}

impl Job for PurgeCarts {
    const KIND: &'static str = "cart.purge";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        purge(&ctx).await
    }
}

async fn purge(ctx: &JobContext) -> Result<(), JobError> {
    let retention = chrono::Duration::from_std(ctx.state.settings.cart.retention)
        .unwrap_or(chrono::Duration::MAX);
    let cutoff = time::now()
        .checked_sub_signed(retention)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let removed = store::purge(&ctx.state.db, cutoff).await?;
    if removed > 0 {
        tracing::info!(removed, "removed idle carts");
    }
    Ok(())
}
