//! How tests make requests: typed JSON helpers on [`TestApp`], the raw response for the few
//! tests that read headers or bytes, bursts of requests at once, and hand-written HTTP.

use std::net::SocketAddr;

use reqwest::Method;
use serde_json::Value;
use tokio::net::TcpStream;

use super::TestApp;

/// One answer of a [`burst`].
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: serde_json::Value,
}

/// Sends `count` requests at once (`make(n)` builds the n-th) and returns every answer.
pub async fn burst(count: usize, make: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<Answer> {
    let requests: Vec<_> = (0..count)
        .map(|n| {
            let request = make(n);
            tokio::spawn(async move {
                let response = request.send().await.expect("answered");
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().expect("ascii").to_owned());
                let text = response.text().await.expect("body");
                let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
                Answer {
                    status,
                    retry_after,
                    body,
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.expect("task"));
    }
    answers
}

/// How many of `answers` have `status`.
pub fn count(answers: &[Answer], status: u16) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

impl TestApp {
    /// An absolute URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request for `method path`, with `token` as its bearer when given, not sent yet: for a
    /// [`burst`] and for the few requests that set headers or a body of their own.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `method path` with an optional bearer token and JSON body; returns the status and
    /// the JSON body (`null` for an empty one). The typed helpers below are this with a method.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
        };
        (status, body)
    }

    /// The value of the first line of `/metrics` that starts with `series` (a name with its
    /// labels), if there is one.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self.get_response("/metrics").await.text().await.ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }

    /// GET `path` without a token: the status and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None, None).await
    }

    /// GET `path` as `token`'s user (anonymously for `None`): the status and the JSON body.
    pub async fn get_as(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(Method::GET, path, token, None).await
    }

    /// POST `body` as JSON to `path` as `token`'s user: the status and the JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// POST to `path` with no body (an action such as cancel) as `token`'s user.
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(Method::POST, path, token, None).await
    }

    /// PATCH `body` as JSON to `path` as `token`'s user: the status and the JSON body.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    /// DELETE `path` as `token`'s user: the status and the JSON body (`null` for none).
    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(Method::DELETE, path, token, None).await
    }

    /// GET `path` without a token and return the response itself, for a test that reads its
    /// headers or bytes.
    pub async fn get_response(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path, None)
            .send()
            .await
            .expect("request sent")
    }

    /// POST `body` as JSON to `path` without a token and return the response itself, for a
    /// test that reads its headers.
    pub async fn post_json_response(&self, path: &str, body: &Value) -> reqwest::Response {
        self.request(Method::POST, path, None)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// POST raw bytes with a content type and return the response itself.
    pub async fn post_bytes_response(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> reqwest::Response {
        self.request(Method::POST, path, None)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent")
    }
}

/// Reads a response as JSON, with the status.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response is not JSON ({e}): {text:?}"));
    (status, value)
}

/// Sends raw bytes over a fresh connection and reads the response (status, JSON body), for
/// requests a well-behaved client library would not send.
pub async fn raw_request(addr: SocketAddr, request: &[u8]) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before it has read everything: ignore write errors.
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let (head, body) = text.split_once("\r\n\r\n").expect("headers end");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    (status, value)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}
