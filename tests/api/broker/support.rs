//! What the broker tests read the brokers with: a JetStream reader from a chosen point of the
//! stream, a `nats-server` of the test's own, and a RabbitMQ queue bound to the exchange.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use emporium::broker::{DUPLICATE_WINDOW, EXCHANGE, STREAM, SUBJECT_PREFIX};
use futures_util::StreamExt;
use serde_json::Value;
use tempfile::TempDir;

/// One message as a subscriber got it.
#[derive(Clone, Debug)]
pub struct Received {
    /// NATS subject or AMQP routing key.
    pub subject: String,
    /// `Nats-Msg-Id` or `message_id`.
    pub id: String,
    pub body: Value,
}

impl Received {
    /// `(resource-free) sequence` of the body.
    pub fn sequence(&self) -> i64 {
        self.body["sequence"].as_i64().expect("a sequence")
    }
}

/// The stream as the application makes it (the reader may come first).
pub fn stream_config() -> stream::Config {
    stream::Config {
        name: STREAM.to_owned(),
        subjects: vec![format!("{SUBJECT_PREFIX}.>")],
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

/// Reads the stream `EMPORIUM` from a point on (every test shares it, so each keeps only the
/// messages of the events it wrote).
pub struct Reader {
    messages: consumer::pull::Ordered,
    _client: async_nats::Client,
}

impl Reader {
    /// Reads what is published from now on.
    pub async fn from_now(url: &str) -> Reader {
        Reader::open(url, consumer::DeliverPolicy::New).await
    }

    /// Reads the whole stream (a private server's).
    pub async fn from_start(url: &str) -> Reader {
        Reader::open(url, consumer::DeliverPolicy::All).await
    }

    async fn open(url: &str, deliver_policy: consumer::DeliverPolicy) -> Reader {
        let client = async_nats::connect(url).await.expect("NATS answers");
        let jetstream = jetstream::new(client.clone());
        let stream = jetstream
            .get_or_create_stream(stream_config())
            .await
            .expect("the stream");
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: format!("{SUBJECT_PREFIX}.>"),
                deliver_policy,
                ..Default::default()
            })
            .await
            .expect("a consumer");
        let messages = consumer.messages().await.expect("messages");
        Reader {
            messages,
            _client: client,
        }
    }

    /// The messages whose id is in `ids`, in stream order, until each id was seen `times`
    /// times or `limit` passed; then `settle` longer, to see a copy that should not come.
    pub async fn collect(
        &mut self,
        ids: &HashSet<String>,
        limit: Duration,
        settle: Duration,
    ) -> Vec<Received> {
        let mut got: Vec<Received> = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        let mut settle_until = None;
        loop {
            let now = tokio::time::Instant::now();
            let until = settle_until.unwrap_or(deadline);
            if now >= until {
                return got;
            }
            let next = tokio::time::timeout(until - now, self.messages.next()).await;
            if let Ok(Some(message)) = next {
                let message = message.expect("a message");
                let id = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get("Nats-Msg-Id"))
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default();
                if ids.contains(&id) {
                    got.push(Received {
                        subject: message.subject.to_string(),
                        id,
                        body: serde_json::from_slice(&message.payload).expect("a JSON body"),
                    });
                }
            }
            let seen: HashSet<&String> = got.iter().map(|r| &r.id).collect();
            if settle_until.is_none() && seen.len() == ids.len() {
                settle_until = Some(tokio::time::Instant::now() + settle);
            }
        }
    }
}

/// A JetStream-enabled `nats-server` of the test's own, storing in a folder that outlives its
/// restarts, killed with the test.
pub struct PrivateNats {
    port: u16,
    store: TempDir,
    child: Option<Child>,
}

impl PrivateNats {
    /// Starts one on a free port. Needs `/usr/sbin/nats-server` (or `nats-server` on the PATH).
    pub async fn start() -> PrivateNats {
        let mut nats = PrivateNats {
            port: crate::helpers::free_port(),
            store: tempfile::tempdir().expect("dir"),
            child: None,
        };
        nats.restart().await;
        nats
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: gone at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same store.
    pub async fn restart(&mut self) {
        self.kill();
        let program = if std::path::Path::new("/usr/sbin/nats-server").exists() {
            "/usr/sbin/nats-server"
        } else {
            "nats-server"
        };
        let child = Command::new(program)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("this test needs nats-server");
        self.child = Some(child);
        for _ in 0..200 {
            if async_nats::connect(self.url()).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not start");
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A queue of the test's own (exclusive, gone with its connection) bound to the exchange
/// `emporium` with `keys`.
pub struct RabbitQueue {
    channel: lapin::Channel,
    queue: lapin::types::ShortString,
    _connection: lapin::Connection,
}

impl RabbitQueue {
    /// Declares the exchange (as the application does), the queue and its bindings.
    pub async fn bound(url: &str, keys: &[&str]) -> RabbitQueue {
        use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
        use lapin::types::FieldTable;
        let connection = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
            .await
            .expect("RabbitMQ answers");
        let channel = connection.create_channel().await.expect("a channel");
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        let table = FieldTable::default;
        channel
            .exchange_declare(
                EXCHANGE.into(),
                lapin::ExchangeKind::Topic,
                durable,
                table(),
            )
            .await
            .expect("the exchange");
        let exclusive = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..Default::default()
        };
        let queue = channel
            .queue_declare("".into(), exclusive, table())
            .await
            .expect("a queue")
            .name()
            .clone();
        for key in keys {
            let bind = QueueBindOptions::default();
            channel
                .queue_bind(queue.clone(), EXCHANGE.into(), (*key).into(), bind, table())
                .await
                .expect("a binding");
        }
        RabbitQueue {
            channel,
            queue,
            _connection: connection,
        }
    }

    /// The deliveries whose `message_id` is in `ids`, in queue order, until each came or
    /// `limit` passed.
    pub async fn collect(
        &self,
        ids: &HashSet<String>,
        limit: Duration,
    ) -> Vec<lapin::message::Delivery> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + limit;
        while got.len() < ids.len() && tokio::time::Instant::now() < deadline {
            let options = lapin::options::BasicGetOptions { no_ack: true };
            match self.channel.basic_get(self.queue.clone(), options).await {
                Ok(Some(message)) => {
                    let delivery = message.delivery;
                    let id = delivery
                        .properties
                        .message_id()
                        .as_ref()
                        .map(ToString::to_string);
                    if id.is_some_and(|id| ids.contains(&id)) {
                        got.push(delivery);
                    }
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => panic!("basic.get: {e}"),
            }
        }
        got
    }
}
