//! Loops a worker runs beside its jobs, for work that is a stream rather than a unit: the
//! outbox's relays (events to webhook deliveries, deliveries to their receivers, events to a
//! broker). Each is started once per worker with the application's state and a [`Stop`] that
//! fires at shutdown; it must return soon after.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;

/// A boxed background loop.
pub type LoopFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
pub(super) type Start = Arc<dyn Fn(AppState, Stop) -> LoopFuture + Send + Sync>;

/// A loop registered with [`super::Registry::background`].
#[derive(Clone)]
pub struct Background {
    /// Its name, in logs.
    pub name: &'static str,
    pub(super) start: Start,
}

/// The shutdown signal a background loop watches.
#[derive(Clone, Debug)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// A signal and the sender that fires it.
    pub fn new() -> (watch::Sender<bool>, Stop) {
        let (sender, receiver) = watch::channel(false);
        (sender, Stop(receiver))
    }

    /// Whether shutdown was asked for.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes when shutdown is asked for (or its sender is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Sleeps for `duration`, or less if shutdown comes first; `true` when it did.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        tokio::select! {
            () = self.wait() => true,
            () = tokio::time::sleep(duration) => self.is_set(),
        }
    }
}
