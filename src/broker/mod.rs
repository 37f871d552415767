//! A client of the events broker (`EMPORIUM_EVENTS_URL`): NATS JetStream or RabbitMQ behind one
//! small interface — ensure the topology, publish one message and return only once the broker
//! confirmed it, ping. Knows nothing of events: the publisher (in the `events` app) hands it
//! an id, a type and a body.
//!
//! Every wait is bounded: connecting by `EMPORIUM_OUTGOING_CONNECT_TIMEOUT`, each publish and
//! ping by `EMPORIUM_OUTGOING_TIMEOUT`. A link that failed is dropped and made again on next
//! use (NATS also reconnects by itself). No error or log line carries the URL's credentials.

mod amqp;
mod nats;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Mutex;

use crate::settings::{BrokerKind, EventsUrl};

/// The JetStream stream every event goes to.
pub const STREAM: &str = "EMPORIUM";
/// The prefix of NATS subjects: `emporium.order.paid`.
pub const SUBJECT_PREFIX: &str = "emporium";
/// The RabbitMQ topic exchange every event goes to.
pub const EXCHANGE: &str = "emporium";
/// How long JetStream remembers a message id to drop its duplicates (at least this long).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// One message to publish.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// Unique per message: the broker (JetStream) or the receiver (RabbitMQ) dedupes on it.
    pub id: &'a str,
    /// Its type (`order.paid`): the NATS subject's tail, the RabbitMQ routing key.
    pub kind: &'a str,
    /// The JSON body.
    pub body: &'a [u8],
}

/// Why the broker did not take a message (or a ping), with no credential in it.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// It could not be reached, or the link broke.
    #[error("{0}")]
    Unavailable(String),
    /// It answered, but did not take the message.
    #[error("the broker refused the message: {0}")]
    Refused(String),
    /// It did not answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// How many events wait in the outbox for the broker, and how old the oldest is.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Backlog {
    /// Events not yet confirmed by the broker.
    pub unpublished: u64,
    /// Seconds since the oldest of them was written (0 when there is none).
    pub oldest_seconds: f64,
}

/// A boxed [`Backlog`] read.
pub type BacklogFuture = Pin<Box<dyn Future<Output = Result<Backlog, DbErr>> + Send>>;
/// Reads the backlog: the outbox belongs to an app, so start-up hands its reader in.
pub type BacklogReader = Arc<dyn Fn(DatabaseConnection) -> BacklogFuture + Send + Sync>;

/// An open link to one broker.
enum Link {
    Nats(nats::NatsLink),
    Amqp(amqp::AmqpLink),
}

impl Link {
    async fn open(url: &EventsUrl, timeout: Duration) -> Result<Link, BrokerError> {
        match url.kind() {
            BrokerKind::Nats => Ok(Link::Nats(nats::NatsLink::open(url, timeout).await?)),
            BrokerKind::Amqp => Ok(Link::Amqp(amqp::AmqpLink::open(url).await?)),
        }
    }

    /// Whether the client library reconnects by itself (NATS does; lapin, as used, does not).
    fn reconnects_itself(&self) -> bool {
        matches!(self, Link::Nats(_))
    }

    fn is_open(&self) -> bool {
        match self {
            Link::Nats(link) => link.is_open(),
            Link::Amqp(link) => link.is_open(),
        }
    }

    async fn ensure_topology(&self) -> Result<(), BrokerError> {
        match self {
            Link::Nats(link) => link.ensure_stream().await,
            Link::Amqp(link) => link.ensure_exchange().await,
        }
    }

    async fn publish(&self, message: Message<'_>) -> Result<(), BrokerError> {
        match self {
            Link::Nats(link) => link.publish(message).await,
            Link::Amqp(link) => link.publish(message).await,
        }
    }

    async fn close(&self) {
        match self {
            Link::Nats(_) => {}
            // A broker that went away may never answer the close.
            Link::Amqp(link) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), link.close()).await;
            }
        }
    }
}

/// The broker of `EMPORIUM_EVENTS_URL`, shared by the publisher, `/ready/` and `check`.
pub struct Broker {
    url: EventsUrl,
    connect_timeout: Duration,
    timeout: Duration,
    link: Mutex<Option<Arc<Link>>>,
    /// Whether the stream or exchange was made or found since the link's last failure.
    ensured: AtomicBool,
    backlog: Option<BacklogReader>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").field("url", &self.url).finish()
    }
}

impl Broker {
    /// A broker at `url`, not yet connected (the first use connects). `connect_timeout`
    /// bounds connecting, `timeout` each publish and ping.
    pub fn new(url: EventsUrl, connect_timeout: Duration, timeout: Duration) -> Broker {
        Broker {
            url,
            connect_timeout,
            timeout,
            link: Mutex::new(None),
            ensured: AtomicBool::new(false),
            backlog: None,
        }
    }

    /// The same broker, with the outbox's backlog reader.
    pub fn with_backlog(self, reader: BacklogReader) -> Broker {
        Broker {
            backlog: Some(reader),
            ..self
        }
    }

    /// Its URL without credentials, for logs.
    pub fn describe(&self) -> String {
        self.url.redacted()
    }

    /// How many events wait for it (zero when no reader was handed in).
    pub async fn backlog(&self, db: &DatabaseConnection) -> Result<Backlog, DbErr> {
        match &self.backlog {
            Some(reader) => reader(db.clone()).await,
            None => Ok(Backlog::default()),
        }
    }

    /// The open link, connecting (and ensuring the topology) when there is none. A NATS client
    /// that lost its server is kept — it reconnects by itself, and a new one would leave the old
    /// one retrying in the background — and is only reported unavailable meanwhile.
    async fn link(&self) -> Result<Arc<Link>, BrokerError> {
        let mut slot = self.link.lock().await;
        if let Some(link) = slot.clone() {
            if link.is_open() {
                if !self.ensured.load(Ordering::Acquire) {
                    self.bounded(link.ensure_topology()).await?;
                    self.ensured.store(true, Ordering::Release);
                }
                return Ok(link);
            }
            if link.reconnects_itself() {
                return Err(BrokerError::Unavailable(
                    "NATS: not connected (reconnecting)".to_owned(),
                ));
            }
            *slot = None;
            link.close().await;
        }
        let opening = async {
            let link = Link::open(&self.url, self.connect_timeout).await?;
            link.ensure_topology().await?;
            Ok::<_, BrokerError>(link)
        };
        let link = tokio::time::timeout(self.connect_timeout + self.timeout, opening)
            .await
            .map_err(|_| BrokerError::Timeout(self.connect_timeout + self.timeout))
            .and_then(|opened| opened)
            .map_err(|e| self.scrubbed(e))?;
        let link = Arc::new(link);
        self.ensured.store(true, Ordering::Release);
        *slot = Some(link.clone());
        Ok(link)
    }

    /// `work` under the timeout, its error scrubbed.
    async fn bounded(
        &self,
        work: impl Future<Output = Result<(), BrokerError>>,
    ) -> Result<(), BrokerError> {
        match tokio::time::timeout(self.timeout, work).await {
            Ok(outcome) => outcome.map_err(|e| self.scrubbed(e)),
            Err(_) => Err(BrokerError::Timeout(self.timeout)),
        }
    }

    /// After a failure on `link`: an AMQP link is dropped, so the next use connects afresh; a
    /// NATS one is kept (see [`Broker::link`]) and its stream checked again on next use.
    async fn forget(&self, link: &Arc<Link>) {
        self.ensured.store(false, Ordering::Release);
        if link.reconnects_itself() {
            return;
        }
        let mut slot = self.link.lock().await;
        if slot.as_ref().is_some_and(|held| Arc::ptr_eq(held, link)) {
            *slot = None;
        }
        drop(slot);
        link.close().await;
    }

    fn scrubbed(&self, error: BrokerError) -> BrokerError {
        match error {
            BrokerError::Unavailable(text) => BrokerError::Unavailable(self.url.scrub(&text)),
            BrokerError::Refused(text) => BrokerError::Refused(self.url.scrub(&text)),
            timeout @ BrokerError::Timeout(_) => timeout,
        }
    }

    /// Runs `work` on the link under the timeout; a failure drops the link.
    async fn on_link<F, Fut>(&self, work: F) -> Result<(), BrokerError>
    where
        F: FnOnce(Arc<Link>) -> Fut,
        Fut: Future<Output = Result<(), BrokerError>>,
    {
        let link = self.link().await?;
        let outcome = self.bounded(work(link.clone())).await;
        if outcome.is_err() {
            self.forget(&link).await;
        }
        outcome
    }

    /// Publishes `message`; `Ok` only once the broker confirmed it (JetStream's ack, or
    /// RabbitMQ's publisher confirm).
    pub async fn publish(&self, message: Message<'_>) -> Result<(), BrokerError> {
        self.on_link(|link| async move { link.publish(message).await })
            .await
    }

    /// Reaches the broker and checks (or makes) the stream or exchange: a round trip.
    pub async fn ping(&self) -> Result<(), BrokerError> {
        self.on_link(|link| async move { link.ensure_topology().await })
            .await
    }
}

/// `error` as text, the whole cause chain.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
