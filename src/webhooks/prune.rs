//! The hourly pruning of the deliveries log: delivered and failed deliveries older than
//! `EMPORIUM_EVENT_RETENTION`. Pending ones stay, whatever their age.

use serde::{Deserialize, Serialize};

use super::delivery_store;
use crate::jobs::{Job, JobContext, JobError};
use crate::time;

/// Deliveries deleted per statement.
const BATCH: u64 = 1_000;

/// The job.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PruneDeliveries {}

impl Job for PruneDeliveries {
    const KIND: &'static str = "webhooks.prune";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let state = &ctx.state;
        let retention = chrono::TimeDelta::from_std(state.settings.event_retention)
            .map_err(|e| JobError::Permanent(format!("EMPORIUM_EVENT_RETENTION: {e}")))?;
        let cutoff = time::now() - retention;
        while delivery_store::prune(&state.db, cutoff, BATCH).await? == BATCH {}
        Ok(())
    }
}
