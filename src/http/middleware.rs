//! The middleware every request passes through ([`edge`]): request ids and the request span,
//! the client context, the rate limit, metrics by route template, security headers, JSON bodies
//! for every error (including the ones produced by axum and tower-http themselves); and panics
//! turned into a generic 500.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, PoisonError, RwLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::context::RequestContext;
use super::error::{SERVER_ERROR, UNAVAILABLE, detail_response};
use crate::cache::CachedAs;
use crate::state::AppState;

/// The header that carries the request id both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// A client's id is kept when it is short and plain; otherwise a new one is made.
fn acceptable_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let plain = (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    plain.then(|| text.to_owned())
}

/// The route label for metrics: the matched template, never the raw path (bounded cardinality).
fn route_label(matched: Option<&MatchedPath>) -> Cow<'_, str> {
    match matched.map(MatchedPath::as_str) {
        Some(path) if path.ends_with('/') || path == "/metrics" || path.contains('*') => {
            Cow::Borrowed(path)
        }
        Some(path) => Cow::Owned(format!("{path}/")),
        None => Cow::Borrowed("unmatched"),
    }
}

/// The method label for metrics: one of the standard methods, or `other` — a client can send
/// any token as a method, and every distinct label would be a new time series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A new request id: a random prefix drawn once per process and a counter — unique, and no
/// system call per request.
fn new_request_id() -> String {
    static PREFIX: LazyLock<u64> = LazyLock::new(|| {
        let mut bytes = [0_u8; 8];
        let _ = getrandom::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    });
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:016x}{:016x}",
        *PREFIX,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The request counter and duration histogram of one route, method and status, looked up once
/// and kept (building the labels for every request was a tenth of a cached read).
fn record_request(route: &str, method: &'static str, status: u16, elapsed: f64) {
    type Handles = (metrics::Counter, metrics::Histogram);
    /// Per route: the handles of each method and status seen.
    type ByRoute = HashMap<String, Vec<(&'static str, u16, Handles)>, BuildHasherDefault<Fnv>>;
    static HANDLES: LazyLock<RwLock<ByRoute>> = LazyLock::new(RwLock::default);
    let find = |map: &ByRoute| {
        map.get(route).and_then(|entries| {
            entries
                .iter()
                .find(|(m, s, _)| *m == method && *s == status)
                .map(|(_, _, handles)| handles.clone())
        })
    };
    let known = find(&HANDLES.read().unwrap_or_else(PoisonError::into_inner));
    let (counter, histogram) = known.unwrap_or_else(|| {
        let labels = [
            ("method", method.to_owned()),
            ("route", route.to_owned()),
            ("status", status.to_string()),
        ];
        let handles = (
            metrics::counter!("http_requests_total", &labels),
            metrics::histogram!("http_request_duration_seconds", &labels),
        );
        HANDLES
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(route.to_owned())
            .or_default()
            .push((method, status, handles.clone()));
        handles
    });
    counter.increment(1);
    histogram.record(elapsed);
}

/// FNV-1a: a fast hash for the few short route labels of [`record_request`] (the default
/// hasher resists flooding, which a fixed set of route templates does not need).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// What the edge knows of a request before it runs: its id, method, span and start.
pub(super) struct Begun {
    id: String,
    method: Method,
    span: tracing::Span,
    started: Instant,
}

/// The request id (the client's when acceptable, else a new one) and the span every log line
/// of the request is written in.
pub(super) fn begin(request: &Request) -> Begun {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(acceptable_request_id)
        .unwrap_or_else(new_request_id);
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        path = %request.uri().path(),
    );
    Begun {
        id,
        method,
        span,
        started: Instant::now(),
    }
}

/// The client's address as the connection gave it.
pub(super) fn peer(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// Counts a request against its rate limit (`key`'s answer): `Some(429)` when over it.
pub(super) async fn refused(
    state: &AppState,
    limit: Option<(String, crate::throttle::Rate)>,
) -> Option<Response> {
    match limit {
        Some((key, rate)) => super::rate_limit::count(state, &key, rate).await,
        None => None,
    }
}

/// The way out of every request: a contract body for an error, the security headers, request
/// metrics by route template, an access log line at debug level (a 503 at warn, other 5xx at
/// error) and the request id.
pub(super) fn end(
    state: &AppState,
    begun: Begun,
    private: bool,
    route: &str,
    response: Response,
) -> Response {
    let mut response = contract_body(&begun.method, response);
    security_headers(state, private, &mut response);
    let elapsed = begun.started.elapsed();
    let status = response.status();
    record_request(
        route,
        method_label(&begun.method),
        status.as_u16(),
        elapsed.as_secs_f64(),
    );
    begun.span.in_scope(|| {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Refused on purpose (too much work waiting, a dependency down): a warning, not an
            // error — and under a flood, not a wall of errors.
            tracing::warn!(status = 503, ms, "request refused");
        } else if status.is_server_error() {
            tracing::error!(status = status.as_u16(), ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), ms, "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&begun.id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), value);
    }
    response
}

/// The one middleware around every route, in this order: the request id and the span every log
/// line of the request is written in; the client's address and the public base URL
/// ([`RequestContext`]); the API rate limit (counted first, then decided); then the routes —
/// and on the way out, [`end`]. A cached answer's [`CachedAs`] is given the route, so the front
/// door can answer the same URL itself next time. One layer instead of five: each layer boxed
/// the request's future and cloned the routes below it.
pub async fn edge(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let begun = begin(&request);
    let matched = request.extensions().get::<MatchedPath>().cloned();
    // The front door resolved it already for an anonymous GET it could not answer.
    let context = match request.extensions().get::<RequestContext>() {
        Some(context) => context.clone(),
        None => super::context::resolve(&state.settings, peer(&request), request.headers()),
    };
    let private = is_private(&request);
    let limit = super::rate_limit::key(&state, &request, context.client_ip);
    let write = super::reads::WriteMark::of(&state, &request, context.client_ip);
    let refused = refused(&state, limit).await;
    request.extensions_mut().insert(context);
    let response = match refused {
        Some(refused) => refused,
        None => {
            within(state.settings.request_timeout, next.run(request))
                .instrument(begun.span.clone())
                .await
        }
    };
    if let Some(write) = write {
        write.record(&state, response.status()).await;
    }
    let route = route_label(matched.as_ref());
    let mut response = end(&state, begun, private, &route, response);
    if let Some(cached) = response.extensions_mut().get_mut::<CachedAs>() {
        cached.route = Some(route.into());
    }
    response
}

/// Runs `request`, answering `503` when it takes longer than `limit`. The timer is armed only
/// when the request does not finish at its first poll: a cache hit never touches the timer
/// wheel (arming one for every request was a twentieth of a cached read).
async fn within(limit: Duration, request: impl Future<Output = Response>) -> Response {
    let mut request = std::pin::pin!(request);
    let first = std::future::poll_fn(|cx| Poll::Ready(request.as_mut().poll(cx))).await;
    if let Poll::Ready(response) = first {
        return response;
    }
    match tokio::time::timeout(limit, request).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?limit, "request timed out");
            detail_response(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
        }
    }
}

/// Any request with credentials, and everything under `/api/auth/` and `/api/admin/`: its
/// answer can carry tokens or a user's own data.
fn is_private(request: &Request) -> bool {
    let path = request.uri().path();
    request.headers().contains_key(header::AUTHORIZATION)
        || path.starts_with("/api/auth")
        || path.starts_with("/api/admin")
}

/// Security headers on every response: no MIME sniffing, no framing, no referrer, HSTS when the
/// public URL is https; and `Cache-Control: no-store` on private answers (see [`is_private`])
/// so no shared cache or device cache keeps them.
fn security_headers(state: &AppState, private: bool, response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The dashboard's pages say `same-origin` (a browser then sends their forms' `Origin`).
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    if state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"))
    {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Gives every error response a contract body: an error that is not already JSON (axum's
/// 405, tower-http's 413 and timeouts, a 404 from a nested router) gets `{"detail": "…"}`.
/// Headers such as `Allow` and `Retry-After` are kept; the original text is not echoed.
fn contract_body(method: &Method, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/html"));
    // The dashboard's pages answer their errors as pages.
    if is_json {
        return response;
    }
    let detail = match status {
        StatusCode::NOT_FOUND => "Not found.".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => format!("Method \"{method}\" not allowed."),
        StatusCode::PAYLOAD_TOO_LARGE => "Request body is too large.".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "Request timed out.".to_owned(),
        StatusCode::INTERNAL_SERVER_ERROR => SERVER_ERROR.to_owned(),
        StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE.to_owned(),
        other => other.canonical_reason().unwrap_or("Error.").to_owned() + ".",
    };
    let (parts, _) = response.into_parts();
    let mut fresh = detail_response(status, &detail);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().append(name.clone(), value.clone());
        }
    }
    fresh
}

/// What a panicking handler answers: a generic 500, with the panic logged in the request span.
pub fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    tracing::error!(panic = %message, "handler panicked");
    detail_response(StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR)
}
