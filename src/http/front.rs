//! The front door, before routing. An anonymous `GET` under `/api/` for a URL whose answer a
//! handler gave through the response cache is answered from the same entry — checked against
//! the versions exactly as the handler's own lookup checks it — without routing, extractors or
//! handler: the routes' layers, the extractors and the handler were half of a cached read.
//! It counts the rate limit and writes the security headers, request id, metrics and access log
//! of the edge middleware ([`super::middleware`]), so a client cannot tell the two apart.
//!
//! Everything else goes to the router unchanged: a request with credentials or an `Origin`
//! (CORS answers depend on it), any other method, a URL not seen yet, and an entry that is not
//! fresh (a miss or a write in flight) — which the handler then builds as it always has. What a
//! URL is answered from is learnt from the handler's answer ([`CachedAs`]), with the headers the
//! layers around the handler added to it (a CORS layer's `Vary`, for one), so the two answers
//! are the same but for the request id, the date and `X-Cache`; the handler's key depends only on
//! the base URL, the path and the query of an anonymous request, which is what the alias is
//! looked up by.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use tower::Service;

use super::context::RequestContext;
use super::middleware;
use crate::cache::{CachedAs, Lookup, Served, count_lookup};
use crate::state::AppState;

const X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// A cached read's JSON body, marked with how the cache answered it (`X-Cache`), its headers
/// sized up front for the ones every response gets on its way out.
pub fn cached_json(body: Bytes, served: Served) -> Response {
    let mut headers = HeaderMap::with_capacity(12);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let value = match served {
        Served::Hit => "hit",
        Served::Miss => "miss",
        Served::Bypass => "bypass",
    };
    headers.insert(X_CACHE, HeaderValue::from_static(value));
    let mut response = Response::new(axum::body::Body::from(body));
    *response.headers_mut() = headers;
    response
}

/// The application's service: the front door, then the router.
#[derive(Clone)]
pub struct Front {
    state: AppState,
    router: Router,
}

impl Front {
    /// The front door of `router`.
    pub fn new(state: AppState, router: Router) -> Front {
        Front { state, router }
    }
}

impl Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let state = self.state.clone();
        let router = self.router.clone();
        Box::pin(async move { Ok(answer(state, router, request).await) })
    }
}

async fn answer(state: AppState, mut router: Router, mut request: Request) -> Response {
    let Some((url, context)) = candidate(&state, &request) else {
        return routed(&mut router, request).await;
    };
    if let Some(alias) = state.cache.alias(&url)
        && let Lookup::Hit(body) = state.cache.lookup(&alias.key, &alias.scopes).await
    {
        let begun = middleware::begin(&request);
        // Counted before the answer, like every request (`rate_limit`).
        let limit = super::rate_limit::key(&state, &request, context.client_ip);
        let response = match middleware::refused(&state, limit).await {
            Some(refused) => refused,
            None => {
                count_lookup(Served::Hit);
                let mut response = cached_json(body, Served::Hit);
                for (name, value) in &alias.headers {
                    response.headers_mut().append(name, value.clone());
                }
                response
            }
        };
        return middleware::end(&state, begun, false, &alias.route, response);
    }
    request.extensions_mut().insert(context);
    let response = routed(&mut router, request).await;
    if response.status() == StatusCode::OK
        && let Some(cached) = response.extensions().get::<CachedAs>()
    {
        state
            .cache
            .learn_alias(url, cached, extra_headers(response.headers()));
    }
    response
}

/// The headers of a handler's answer that the front door does not write itself: whatever the
/// layers between it and the handler add for every request (a CORS layer's `Vary` and
/// `Access-Control-Expose-Headers`), so that its answers are the same.
fn extra_headers(headers: &HeaderMap) -> HeaderMap {
    let own = [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::DATE,
        header::X_CONTENT_TYPE_OPTIONS,
        header::X_FRAME_OPTIONS,
        header::REFERRER_POLICY,
        header::STRICT_TRANSPORT_SECURITY,
        header::CACHE_CONTROL,
        X_CACHE,
        HeaderName::from_static(middleware::REQUEST_ID),
    ];
    let mut extra = HeaderMap::new();
    for (name, value) in headers {
        if !own.contains(name) {
            extra.append(name, value.clone());
        }
    }
    extra
}

async fn routed(router: &mut Router, request: Request) -> Response {
    match router.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The URL (base URL, path and query as received) and context of a request the front door may
/// answer: an anonymous, cross-origin-free `GET` under `/api/` outside the private paths, while
/// the cache is on.
fn candidate(state: &AppState, request: &Request) -> Option<(String, RequestContext)> {
    if request.method() != Method::GET || !state.cache.is_enabled() {
        return None;
    }
    let headers = request.headers();
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key(header::ORIGIN) {
        return None;
    }
    let target = request.uri().path_and_query()?;
    let path = target.path();
    if !path.starts_with("/api/") || path.starts_with("/api/auth") || path.starts_with("/api/admin")
    {
        return None;
    }
    let context = super::context::resolve(&state.settings, middleware::peer(request), headers);
    let url = format!("{}{}", context.base_url, target.as_str());
    Some((url, context))
}
