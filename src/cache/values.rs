//! Values kept in the cache beside the responses: what a rule reads on every request but staff
//! change rarely (the tax rates at a destination, the zone that reaches it, a shipping
//! method). An entry names the scopes it depends on, as a response does; a write of that data
//! commits through [`ResponseCache::commit`] with those scopes, so the entry is never served
//! once the write has returned.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Lookup, ResponseCache};

impl ResponseCache {
    /// The value under `key` while `scopes` keep the values they had when it was built; else
    /// `build`'s, stored for the next read (unless a write of a scope is in flight).
    ///
    /// `build` may read in a read-committed transaction (or SQLite's one writer): a write it
    /// cannot see yet was prepared (its scopes moved on) before it committed, so what `build`
    /// returns is then stored under scope values that no longer hold, or not at all.
    pub async fn value<T, E, F, Fut>(
        &self,
        key: String,
        scopes: &[&'static str],
        build: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match self.lookup(&key, scopes).await {
            Lookup::Hit(body) => match serde_json::from_slice(&body) {
                Ok(value) => Ok(value),
                Err(_) => build().await,
            },
            Lookup::Miss(snapshot) => {
                let value = build().await?;
                if let Ok(body) = serde_json::to_vec(&value) {
                    self.store(key, snapshot, Vec::new(), body.into()).await;
                }
                Ok(value)
            }
            Lookup::Bypass => build().await,
        }
    }
}
