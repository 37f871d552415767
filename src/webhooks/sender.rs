//! One attempt to deliver an event: the URL checked again after DNS and the connection pinned
//! to the addresses checked (a name that now resolves inside is refused, and cannot change its
//! answer between the check and the connection), no proxy, no redirects followed, the whole
//! attempt — DNS included — bounded by the timeout, and the answer's body never read.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use url::{Host, Url};

use super::safe_url::check_url;
use super::signature::signature_header;

/// What is sent: the event's JSON and who it is.
pub struct Message<'a> {
    pub url: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub body: &'a str,
}

/// How an attempt went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// A 2xx answered within the timeout.
    pub delivered: bool,
    /// The answer's status, when there was one.
    pub status_code: Option<u16>,
    /// Why it did not count as delivered.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// Sends `message` signed with `secrets` (the current one first), allowing `allow_hosts`
/// (`EMPORIUM_WEBHOOK_ALLOW_HOSTS`) and at most `timeout` for all of it.
pub async fn send(
    message: &Message<'_>,
    secrets: &[&str],
    allow_hosts: &[String],
    timeout: Duration,
) -> Attempt {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, attempt(message, secrets, allow_hosts, timeout))
        .await
        .unwrap_or_else(|_| Err(no_answer(timeout)));
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match outcome {
        Ok(status) if (200..300).contains(&status) => Attempt {
            delivered: true,
            status_code: Some(status),
            error: None,
            duration_ms,
        },
        Ok(status) => Attempt {
            delivered: false,
            status_code: Some(status),
            error: Some(refused(status)),
            duration_ms,
        },
        Err(error) => Attempt {
            delivered: false,
            status_code: None,
            error: Some(error),
            duration_ms,
        },
    }
}

fn no_answer(timeout: Duration) -> String {
    format!("No answer within {} s.", timeout.as_secs_f64())
}

fn refused(status: u16) -> String {
    if (300..400).contains(&status) {
        format!("The receiver answered {status}; redirects are not followed.")
    } else {
        format!("The receiver answered {status}.")
    }
}

/// The attempt itself: the status of the answer, or why there was none.
async fn attempt(
    message: &Message<'_>,
    secrets: &[&str],
    allow_hosts: &[String],
    timeout: Duration,
) -> Result<u16, String> {
    let addresses = check_url(message.url, allow_hosts)
        .await
        .map_err(|problem| format!("Not sent: {problem}"))?;
    let url = Url::parse(message.url).map_err(|_| "Not sent: the URL is invalid.".to_owned())?;
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .pool_max_idle_per_host(0);
    if let Some(Host::Domain(domain)) = url.host() {
        client = client.resolve_to_addrs(domain, &addresses);
    }
    let client = client
        .build()
        .map_err(|e| format!("Not sent: {}", e.without_url()))?;
    let t = crate::time::now().timestamp();
    let response = client
        .post(url)
        .headers(headers(message, secrets, t)?)
        .body(message.body.to_owned())
        .send()
        .await
        .map_err(|e| describe(e, timeout))?;
    Ok(response.status().as_u16())
}

fn headers(message: &Message<'_>, secrets: &[&str], t: i64) -> Result<HeaderMap, String> {
    let value = |text: &str| {
        HeaderValue::from_str(text).map_err(|_| "Not sent: a header is not valid.".to_owned())
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(USER_AGENT, HeaderValue::from_static("Emporium-Webhooks/1"));
    headers.insert("emporium-event-id", value(message.event_id)?);
    headers.insert("emporium-event-type", value(message.event_type)?);
    headers.insert(
        "emporium-signature",
        value(&signature_header(secrets, t, message.body.as_bytes()))?,
    );
    Ok(headers)
}

/// A transport error in words, without the URL (it may carry a token staff put in it).
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return no_answer(timeout);
    }
    if error.is_connect() {
        return "Could not connect to the receiver.".to_owned();
    }
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    format!("The request failed: {text}")
}
