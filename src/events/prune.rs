//! The hourly pruning of the outbox: events older than `EMPORIUM_EVENT_RETENTION` (30 days)
//! that were made into deliveries and, with a broker, published — except each resource's last
//! event, which its next one counts its sequence on from. A turned-off endpoint that still waits
//! for such an event finds it gone ("Not sent: the event is no longer stored").

use serde::{Deserialize, Serialize};

use super::store;
use crate::jobs::{Job, JobContext, JobError};
use crate::time;

/// Events deleted per statement.
const BATCH: u64 = 1_000;

/// The job.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PruneEvents {}

impl Job for PruneEvents {
    const KIND: &'static str = "events.prune";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let state = &ctx.state;
        let retention = chrono::TimeDelta::from_std(state.settings.event_retention)
            .map_err(|e| JobError::Permanent(format!("EMPORIUM_EVENT_RETENTION: {e}")))?;
        let cutoff = time::now() - retention;
        let published = state.broker.is_some();
        loop {
            let positions = store::prunable(&state.db, cutoff, published, BATCH).await?;
            let full = positions.len() as u64 == BATCH;
            let deleted = store::delete(&state.db, positions).await?;
            metrics::counter!("events_pruned_total").increment(deleted);
            if !full {
                return Ok(());
            }
        }
    }
}
