//! Thin handlers of `/api/categories/` and `/api/products/`. Anonymous and customer reads are
//! served from the catalog cache; staff reads (which include inactive products) never are.
//!
//! This file holds what the handlers share (the cached read, pagination, the product view); the
//! handlers are in `categories.rs`, `products.rs`, `discovery.rs` (facets and suggestions),
//! `images.rs` and `stock.rs`.

pub mod categories;
pub mod discovery;
pub mod images;
pub mod products;
pub mod stock;
pub mod variants;

use std::future::Future;

use axum::response::Response;
use bytes::Bytes;

use super::products::shown::Showing;
use super::products::{ProductRow, product_tag};
use super::search::DatabaseSearch;
use super::views::ProductView;
use crate::cache::{CachedAs, Lookup, Served, count_lookup};
use crate::http::ApiResult;
use crate::http::context::RequestContext;
use crate::http::error::{bad_request, internal};
use crate::http::front::cached_json;
use crate::http::pagination::Pagination;
use crate::http::reads::{Freshness, Reader, read};
use crate::state::AppState;

fn to_bytes<T: serde::Serialize>(value: &T) -> ApiResult<Bytes> {
    serde_json::to_vec(value).map(Bytes::from).map_err(internal)
}

/// A response body and the rows (cache tag, version) it shows.
type Built = (Bytes, Vec<(String, i64)>);

/// Serves `build`'s JSON through the response cache under `key` — made from the parsed,
/// normalised request, never its raw text — when there is a key (staff reads have none).
/// `scopes` are what the response depends on beyond the rows it shows. A keyed answer carries
/// [`CachedAs`], from which the front door learns to answer the same URL before routing.
///
/// This is the one place that decides which database a catalog read queries (`build` asks
/// the reader for it); a hit queries none and asks nothing about the reader. A read that is not stored (no key,
/// or a bypass) goes to the replica when it is usable and the reader did not write lately. A
/// miss, whose response will be stored, goes to the replica only when the replica has replayed
/// everything the primary had a moment before the build, which makes it as good as a read on
/// the primary at that moment: the snapshot's scope values were read before that moment, so
/// every write they reflect had committed — and a committed write is at or before the
/// primary's position then — and replay only moves forward; a write after the snapshot changes
/// a scope value or a row's mirror, and every hit checks both. So a stored response is never
/// older than the primary was when it was looked up.
async fn cached<F, Fut>(
    state: &AppState,
    reader: &Reader,
    key: Option<String>,
    scopes: &[&'static str],
    build: F,
) -> ApiResult<Response>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ApiResult<Built>>,
{
    // The build's future is boxed: held inline, the database queries' state would make every
    // request's future (a hit's too) many kilobytes to allocate and move.
    let Some(key) = key else {
        count_lookup(Served::Bypass);
        let built = Box::pin(read(state, reader, Freshness::WithinLag, build)).await?;
        return Ok(cached_json(built.0, Served::Bypass));
    };
    let cached_as = CachedAs {
        key: key.clone(),
        scopes: scopes.to_vec(),
        route: None,
    };
    let cache = &state.cache;
    let served = match cache.lookup(&key, scopes).await {
        Lookup::Hit(body) => (body, Served::Hit),
        Lookup::Bypass => (
            Box::pin(read(state, reader, Freshness::WithinLag, build))
                .await?
                .0,
            Served::Bypass,
        ),
        Lookup::Miss(snapshot) => {
            let (body, rows) = Box::pin(read(state, reader, Freshness::CaughtUp, build)).await?;
            cache.store(key, snapshot, rows, body.clone()).await;
            (body, Served::Miss)
        }
    };
    count_lookup(served.1);
    let mut response = cached_json(served.0, served.1);
    response.extensions_mut().insert(cached_as);
    Ok(response)
}

/// A list's pagination with links (and cache key) made of its known parameters only.
fn normal_pagination(
    context: &RequestContext,
    uri: &axum::http::Uri,
    query: Vec<(String, String)>,
) -> ApiResult<Pagination> {
    let raw: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| bad_request("The query string is malformed."))?;
    let url = format!("{}{}", context.base_url, uri.path());
    Ok(Pagination::from_query(url, raw)?.normalized(query))
}

fn row_of(row: &ProductRow) -> (String, i64) {
    (product_tag(row.product.id), row.product.version)
}

/// The view of a product: its active variants, or all of them for staff (`include_inactive`).
fn product_view(
    state: &AppState,
    base_url: &str,
    row: ProductRow,
    include_inactive: bool,
) -> ProductView {
    showing(state, base_url).view(row, include_inactive)
}

/// How products are shown from this request.
fn showing<'a>(state: &'a AppState, base_url: &'a str) -> Showing<'a> {
    Showing {
        storage: Some(&state.storage),
        base_url,
        currency: state.settings.currency,
    }
}

/// The search backend, in the shop's language.
fn search(state: &AppState) -> DatabaseSearch {
    DatabaseSearch {
        language: state.settings.search_language,
    }
}
