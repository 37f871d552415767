//! Shared HTTP plumbing: the error type, extractors, pagination, middleware, operations
//! endpoints and the OpenAPI document. Apps build on these; none of them lives in an app.

pub mod context;
pub mod error;
pub mod extract;
pub mod front;
pub mod media;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod rate_limit;
pub mod reads;

use axum::Router;
use axum::routing::MethodRouter;

pub use error::{ApiError, ApiResult};

/// Adds `path` (canonical, ending in `/`) and the same path without the trailing slash, both
/// served directly: the contract forbids redirects.
pub fn route<S>(router: Router<S>, path: &str, handler: MethodRouter<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let bare = path.trim_end_matches('/');
    if bare.is_empty() || bare == path {
        router.route(path, handler)
    } else {
        router.route(path, handler.clone()).route(bare, handler)
    }
}

/// The answer for a path no route matches.
pub async fn not_found() -> ApiError {
    error::not_found()
}
