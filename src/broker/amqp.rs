//! RabbitMQ (AMQP 0-9-1): the durable topic exchange `emporium`, a persistent message per event
//! with the type as its routing key and the event id as its `message_id`, on a channel in
//! confirm mode — a publish returns once the broker acked it.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};

use super::{BrokerError, EXCHANGE, Message, chain};
use crate::settings::EventsUrl;

/// Persistent: written to disk by a broker that has a durable queue for it.
const PERSISTENT: u8 = 2;

/// A connection and its one channel, in confirm mode.
pub(super) struct AmqpLink {
    connection: Connection,
    channel: Channel,
}

fn unavailable(what: &str, error: &lapin::Error) -> BrokerError {
    BrokerError::Unavailable(format!("RabbitMQ {what}: {}", chain(error)))
}

impl AmqpLink {
    /// Connects and opens a confirming channel (the caller bounds the time).
    pub(super) async fn open(url: &EventsUrl) -> Result<AmqpLink, BrokerError> {
        let properties = ConnectionProperties::default().with_connection_name("emporium".into());
        let connection = Connection::connect(url.expose(), properties)
            .await
            .map_err(|e| unavailable("connection", &e))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| unavailable("channel", &e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| unavailable("confirm mode", &e))?;
        Ok(AmqpLink {
            connection,
            channel,
        })
    }

    /// Whether the connection and the channel are both usable.
    pub(super) fn is_open(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }

    /// Declares the exchange (a no-op when it exists as declared): a round trip.
    pub(super) async fn ensure_exchange(&self) -> Result<(), BrokerError> {
        let options = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        self.channel
            .exchange_declare(
                EXCHANGE.into(),
                ExchangeKind::Topic,
                options,
                FieldTable::default(),
            )
            .await
            .map_err(|e| unavailable(&format!("exchange {EXCHANGE}"), &e))
    }

    /// Publishes and waits for the broker's confirm.
    pub(super) async fn publish(&self, message: Message<'_>) -> Result<(), BrokerError> {
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_content_type("application/json".into())
            .with_message_id(message.id.into())
            .with_app_id("emporium".into());
        let confirm = self
            .channel
            .basic_publish(
                EXCHANGE.into(),
                message.kind.into(),
                BasicPublishOptions::default(),
                message.body,
                properties,
            )
            .await
            .map_err(|e| unavailable("publish", &e))?
            .await
            .map_err(|e| unavailable("confirm", &e))?;
        match confirm {
            Confirmation::Ack(_) => Ok(()),
            Confirmation::Nack(_) => Err(BrokerError::Refused("RabbitMQ nacked it".to_owned())),
            Confirmation::NotRequested => Err(BrokerError::Refused(
                "the channel is not in confirm mode".to_owned(),
            )),
        }
    }

    /// Closes the connection, for a link given up on.
    pub(super) async fn close(&self) {
        let _ = self
            .connection
            .close(200, "emporium: reconnecting".into())
            .await;
    }
}
