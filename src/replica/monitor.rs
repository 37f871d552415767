//! The replica's monitor: every [`TICK`], the primary's position and the replica's replayed
//! position, each asked with a timeout; the lag from the primary's positions the replica has not
//! replayed; a log line when the state changes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use super::{CHECK_TIMEOUT, Replica, ReplicaState};
use crate::db::replica::{Position, primary_position, replayed_position};

/// How often the positions are read.
const TICK: Duration = Duration::from_millis(250);
/// Most primary positions kept waiting for the replica (at four a second, over half an hour
/// of a replica that replays nothing); past it, newer ones are not kept, so the lag, measured
/// from the oldest, is never understated.
const MAX_SAMPLES: usize = 8192;

/// The primary's positions (with when each was first seen) not yet replayed.
#[derive(Default)]
struct Samples(VecDeque<(Instant, Position)>);

impl Samples {
    /// Keeps `position` seen at `at`, unless it is the last one kept.
    fn seen(&mut self, at: Instant, position: Position) {
        let changed = self.0.back().is_none_or(|(_, last)| *last != position);
        if changed && self.0.len() < MAX_SAMPLES {
            self.0.push_back((at, position));
        }
    }

    /// Drops what `replayed` covers; the lag is the age (at `now`) of the oldest left.
    fn replayed(&mut self, now: Instant, replayed: &Position) -> Duration {
        while self.0.front().is_some_and(|(_, p)| replayed.covers(p)) {
            self.0.pop_front();
        }
        self.0
            .front()
            .map_or(Duration::ZERO, |(at, _)| now.saturating_duration_since(*at))
    }
}

/// Runs the monitor until the runtime stops.
pub(super) async fn run(replica: Arc<Replica>, primary: DatabaseConnection) {
    let mut samples = Samples::default();
    let mut logged: Option<ReplicaState> = None;
    let mut last_error = String::new();
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let (written, replayed) = tokio::join!(
            tokio::time::timeout(CHECK_TIMEOUT, primary_position(&primary)),
            tokio::time::timeout(CHECK_TIMEOUT, replayed_position(replica.db())),
        );
        let now = Instant::now();
        if let Ok(Ok(position)) = written {
            samples.seen(now, position);
        }
        match replayed {
            Ok(Ok(Some(position))) => replica.checked(samples.replayed(now, &position)),
            Ok(Ok(None)) => last_error = "it is not replaying (not a standby)".to_owned(),
            Ok(Err(error)) => last_error = error.to_string(),
            Err(_) => last_error = format!("no answer within {CHECK_TIMEOUT:?}"),
        }
        let report = replica.report();
        if logged != Some(report.state) {
            log_change(report.state, report.lag, &last_error, replica.max_lag);
            logged = Some(report.state);
        }
    }
}

/// One line when the replica's state changes.
fn log_change(state: ReplicaState, lag: Option<Duration>, error: &str, max_lag: Duration) {
    let lag = lag.map(|lag| lag.as_secs_f64());
    match state {
        ReplicaState::Up => {
            tracing::info!(?lag, "the read replica is up: catalog reads go to it");
        }
        ReplicaState::Lagging => tracing::warn!(
            ?lag,
            ?max_lag,
            "the read replica lags more than EMPORIUM_REPLICA_MAX_LAG: reads go to the primary"
        ),
        ReplicaState::Down => tracing::warn!(
            %error,
            "the read replica does not answer: reads go to the primary"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_is_the_age_of_the_oldest_position_not_replayed() {
        let start = Instant::now();
        let mut samples = Samples::default();
        samples.seen(start, Position::Wal(100_000));
        samples.seen(start + Duration::from_secs(1), Position::Wal(100_000));
        samples.seen(start + Duration::from_secs(2), Position::Wal(200_000));
        let at = start + Duration::from_secs(3);
        assert_eq!(
            samples.replayed(at, &Position::Wal(50_000)),
            Duration::from_secs(3)
        );
        assert_eq!(
            samples.replayed(at, &Position::Wal(150_000)),
            Duration::from_secs(1)
        );
        assert_eq!(
            samples.replayed(at, &Position::Wal(200_000)),
            Duration::ZERO
        );
        // An idle primary: the same position again and again, all replayed.
        samples.seen(at, Position::Wal(200_000));
        let later = at + Duration::from_secs(60);
        assert_eq!(
            samples.replayed(later, &Position::Wal(200_000)),
            Duration::ZERO
        );
    }
}
