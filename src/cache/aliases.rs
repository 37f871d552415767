//! Which entry answers an exact anonymous URL: learnt from the handler that answered it (the key
//! it made from the parsed request, the scopes it named, the route it was), so that the next
//! request for the same URL is answered from the entry before routing (`crate::http::front`).
//! Bounded in bytes like the bodies; a lost alias only sends a request the long way round.

use std::sync::Arc;

use axum::http::HeaderMap;

use super::ResponseCache;

/// Where a URL's answer is kept.
pub struct Alias {
    /// The entry's key.
    pub key: String,
    /// The scopes the handler named.
    pub scopes: Vec<&'static str>,
    /// The route template, for the request metrics.
    pub route: Arc<str>,
    /// Headers the handler's answer carried beyond the ones the front door writes itself
    /// (those of a CORS layer, for one), to be written on every answer.
    pub headers: HeaderMap,
}

/// Set on a response that was answered through the cache (by the handler, with its key and
/// scopes), and completed with the route by the edge middleware; the front door learns the
/// URL's alias from it.
#[derive(Clone, Debug)]
pub struct CachedAs {
    /// The entry's key.
    pub key: String,
    /// The scopes the handler named.
    pub scopes: Vec<&'static str>,
    /// The route template (set by the edge).
    pub route: Option<Arc<str>>,
}

impl ResponseCache {
    /// The alias of `url` (`base URL` + path and query, as received), if one was learnt.
    pub fn alias(&self, url: &str) -> Option<Arc<Alias>> {
        self.aliases.get(url)
    }

    /// Remembers that `url` is answered from the entry `cached` names, with `headers` beside
    /// the front door's own; ignored until the edge has named the route.
    pub fn learn_alias(&self, url: String, cached: &CachedAs, headers: HeaderMap) {
        let Some(route) = cached.route.clone() else {
            return;
        };
        let header_bytes: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 32)
            .sum();
        let weight = url.len()
            + cached.key.len()
            + cached.scopes.len() * 16
            + route.len()
            + header_bytes
            + 96;
        let alias = Alias {
            key: cached.key.clone(),
            scopes: cached.scopes.clone(),
            route,
            headers,
        };
        self.aliases
            .insert(url, alias, u64::try_from(weight).unwrap_or(u64::MAX));
    }
}
