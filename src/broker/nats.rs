//! NATS JetStream: the stream `EMPORIUM` on `emporium.>` (file storage, a duplicate window of
//! two minutes), a message per event on `emporium.<type>` with `Nats-Msg-Id` = its id, so
//! JetStream drops a message published twice.

use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::{self, message::PublishMessage, stream};

use super::{BrokerError, DUPLICATE_WINDOW, Message, STREAM, SUBJECT_PREFIX, chain};
use crate::settings::EventsUrl;

/// A connected client and its JetStream context.
pub(super) struct NatsLink {
    client: async_nats::Client,
    jetstream: jetstream::Context,
}

impl NatsLink {
    /// Connects: one attempt, bounded by `timeout`. Once connected, the client reconnects by
    /// itself after an outage.
    pub(super) async fn open(url: &EventsUrl, timeout: Duration) -> Result<NatsLink, BrokerError> {
        let client = async_nats::ConnectOptions::new()
            .name("emporium")
            .connection_timeout(timeout)
            .connect(url.expose())
            .await
            .map_err(|e| BrokerError::Unavailable(format!("NATS: {}", chain(&e))))?;
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(timeout.max(Duration::from_secs(1)))
            .build(client.clone());
        Ok(NatsLink { client, jetstream })
    }

    /// Whether the client is connected now (it is reconnecting otherwise, and a publish would
    /// only wait in its buffer).
    pub(super) fn is_open(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    /// Finds the stream, or creates it.
    pub(super) async fn ensure_stream(&self) -> Result<(), BrokerError> {
        if !self.is_open() {
            return Err(BrokerError::Unavailable("NATS: not connected".to_owned()));
        }
        let config = stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![format!("{SUBJECT_PREFIX}.>")],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        let found = self
            .jetstream
            .get_or_create_stream(config)
            .await
            .map_err(|e| BrokerError::Unavailable(format!("JetStream stream {STREAM}: {e}")))?;
        let window = found.cached_info().config.duplicate_window;
        if window < DUPLICATE_WINDOW {
            tracing::warn!(
                stream = STREAM,
                ?window,
                "the stream drops duplicates for less than 2 minutes: an event published again \
                 after a crash may reach subscribers twice"
            );
        }
        Ok(())
    }

    /// Publishes and waits for JetStream's ack.
    pub(super) async fn publish(&self, message: Message<'_>) -> Result<(), BrokerError> {
        if !self.is_open() {
            return Err(BrokerError::Unavailable("NATS: not connected".to_owned()));
        }
        let subject = format!("{SUBJECT_PREFIX}.{}", message.kind);
        let publish = PublishMessage::build()
            .payload(bytes::Bytes::copy_from_slice(message.body))
            .message_id(message.id);
        let ack = self
            .jetstream
            .send_publish(subject, publish)
            .await
            .map_err(|e| BrokerError::Unavailable(format!("JetStream publish: {}", chain(&e))))?
            .await
            .map_err(|e| BrokerError::Unavailable(format!("JetStream ack: {}", chain(&e))))?;
        if ack.duplicate {
            tracing::debug!(id = message.id, "JetStream already had this event");
        }
        Ok(())
    }
}
