//! The middleware every request passes through: request ids and the request span, metrics by
//! route template, JSON bodies for every error (including the ones produced by axum and
//! tower-http themselves), and panics turned into a generic 500.

use std::any::Any;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::error::{SERVER_ERROR, UNAVAILABLE, detail_response};
use crate::state::AppState;

/// The header that carries the request id both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The id of the current request, as stored in the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

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
fn route_label(request: &Request) -> String {
    match request.extensions().get::<MatchedPath>() {
        Some(path) => {
            let path = path.as_str();
            if path.ends_with('/') || path == "/metrics" || path.contains('*') {
                path.to_owned()
            } else {
                format!("{path}/")
            }
        }
        None => "unmatched".to_owned(),
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

/// Outermost middleware: request id, the span every log line of the request is written in,
/// request metrics, and an access log line at debug level (errors at warn/error).
pub async fn observe(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();
    let route = route_label(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();

    let status = response.status();
    let labels = [
        ("method", method_label(&method).to_owned()),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    span.in_scope(|| {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), ms, "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Security headers on every response: no MIME sniffing, no framing, no referrer, HSTS when the
/// public URL is https; and `Cache-Control: no-store` on every answer that can carry tokens or
/// a user's own data — any request with credentials, and everything under `/api/auth/` and
/// `/api/admin/` — so no shared cache or device cache keeps it.
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let private = request.headers().contains_key(header::AUTHORIZATION)
        || ["/api/auth/", "/api/admin/"].iter().any(|prefix| {
            request
                .uri()
                .path()
                .starts_with(prefix.trim_end_matches('/'))
        });
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
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
    response
}

/// Gives every error response a contract body: an error that is not already JSON (axum's
/// 405, tower-http's 413 and timeouts, a 404 from a nested router) gets `{"detail": "…"}`.
/// Headers such as `Allow` and `Retry-After` are kept; the original text is not echoed.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
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
