//! Real stand-ins for outside services: an SMTP listener that receives mail, and an
//! S3-compatible server (moto) started for the test.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the SMTP server received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_to: Vec<String>,
    /// The message as sent after `DATA`.
    pub data: String,
}

impl ReceivedMail {
    /// A header's value (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The decoded body of the part whose `Content-Type` starts with `media_type`.
    pub fn part(&self, media_type: &str) -> Option<String> {
        let lower = self.data.to_ascii_lowercase();
        let start = lower.find(&format!("content-type: {media_type}"))?;
        let part = &self.data[start..];
        let (headers, body) = part.split_once("\r\n\r\n")?;
        let body = body.split("\r\n--").next().unwrap_or_default();
        let encoding = headers.to_ascii_lowercase();
        if encoding.contains("content-transfer-encoding: quoted-printable") {
            Some(decode_quoted_printable(body))
        } else if encoding.contains("content-transfer-encoding: base64") {
            Some(decode_base64(body))
        } else {
            Some(body.to_owned())
        }
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'=')
            .then(|| joined.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = hex {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0_u32, 0);
    for byte in text.bytes() {
        let Some(value) = ALPHABET.iter().position(|b| *b == byte) else {
            continue;
        };
        buffer = (buffer << 6) | u32::try_from(value).unwrap_or(0);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or(0));
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A minimal SMTP server (no TLS offered, so clients send in the clear) that keeps every
/// message it accepts. While `refusing`, it answers `451` (try again later) to `MAIL FROM`.
pub struct SmtpServer {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<ReceivedMail>>>,
    refusing: Arc<AtomicBool>,
    _task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// Starts listening on a random port.
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let addr = listener.local_addr().expect("address");
        let received: Arc<Mutex<Vec<ReceivedMail>>> = Arc::default();
        let refusing = Arc::new(AtomicBool::new(false));
        let (store, refuse) = (received.clone(), refusing.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, refuse) = (store.clone(), refuse.clone());
                tokio::spawn(async move {
                    let _ = session(stream, store, refuse).await;
                });
            }
        });
        SmtpServer {
            addr,
            received,
            refusing,
            _task: task,
        }
    }

    /// `EMAIL_URL` for this server.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Answer 451 to every message until told otherwise.
    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.received.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
    refusing: Arc<AtomicBool>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 test.local ESMTP stand-in\r\n")
        .await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-test.local\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n")
                .await?;
        } else if upper.starts_with("HELO")
            || upper.starts_with("NOOP")
            || upper.starts_with("RSET")
        {
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            if refusing.load(Ordering::SeqCst) {
                write.write_all(b"451 4.3.0 try again later\r\n").await?;
                continue;
            }
            from = command[10..].trim().trim_matches(['<', '>']).to_owned();
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(command[8..].trim().trim_matches(['<', '>']).to_owned());
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(
                    line.strip_prefix('.')
                        .filter(|_| line.starts_with(".."))
                        .unwrap_or(&line),
                );
            }
            if let Ok(mut messages) = store.lock() {
                messages.push(ReceivedMail {
                    mail_from: from.clone(),
                    rcpt_to: to.clone(),
                    data,
                });
            }
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}

/// A moto S3 server on a random port, stopped when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    child: Child,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts the S3 stand-in that `EMPORIUM_TEST_S3` names: `moto` runs `moto_server` (from
    /// PyPI: `pip install 'moto[server]'`; `EMPORIUM_MOTO_SERVER` overrides the program). A
    /// stand-in that does not start fails the test.
    pub async fn start() -> S3Server {
        let wanted = crate::helpers::service("EMPORIUM_TEST_S3");
        assert_eq!(wanted, "moto", "EMPORIUM_TEST_S3 knows one stand-in: moto");
        let program =
            std::env::var("EMPORIUM_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            probe.local_addr().expect("address").port()
        };
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = child.unwrap_or_else(|e| {
            panic!("{program} did not start ({e}); pip install 'moto[server]'")
        });
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        let ready = crate::helpers::eventually(Duration::from_secs(30), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        assert!(ready, "moto_server did not start");
        server
    }

    /// Creates a bucket.
    pub async fn create_bucket(&self, name: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .expect("create bucket");
        assert!(
            response.status().is_success(),
            "create bucket: {}",
            response.status()
        );
    }

    /// Lets anyone read the bucket's objects, as a bucket behind a public CDN is set up.
    pub async fn make_public(&self, name: &str) {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{name}/*"),
            }],
        });
        let response = reqwest::Client::new()
            .put(format!("{}/{name}?policy", self.endpoint))
            .body(policy.to_string())
            .send()
            .await
            .expect("set bucket policy");
        assert!(
            response.status().is_success(),
            "bucket policy: {}",
            response.status()
        );
    }
}
