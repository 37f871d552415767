//! The HTTP ceiling for the benchmark: a minimal tokio + hyper server that answers each
//! request with bytes fixed in advance — the same bytes Emporium answers for that URL — and
//! does nothing else. What it reaches on a machine is the most any Rust HTTP server can.
//!
//! `ceiling ADDR PATH=FILE…`: serves FILE's bytes (as `application/json`) at PATH (with its
//! query string), 404 elsewhere.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18499".to_owned());
    let mut pages: HashMap<String, Bytes> = HashMap::new();
    for arg in args {
        let (path, file) = arg
            .rsplit_once('=')
            .ok_or_else(|| std::io::Error::other(format!("{arg}: expected PATH=FILE")))?;
        pages.insert(path.to_owned(), Bytes::from(std::fs::read(file)?));
    }
    let pages = Arc::new(pages);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let pages = pages.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let key = request
                    .uri()
                    .path_and_query()
                    .map_or("/", |pq| pq.as_str())
                    .to_owned();
                let found = pages.get(&key).cloned();
                async move {
                    let response = match found {
                        Some(body) => Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(body)),
                        None => Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::new())),
                    };
                    Ok::<_, Infallible>(response.unwrap_or_default())
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
