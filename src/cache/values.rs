//! Values kept in the cache beside the responses: what a rule reads on every request but staff
//! change rarely (the tax rates at a destination, the zone that reaches it, a shipping
//! method). An entry names the scopes it depends on, as a response does; a write of that data
//! commits through [`ResponseCache::commit`] with those scopes, so the entry is never served
//! once the write has returned. A write that does not go through the cache — a node of an
//! older version during a rolling upgrade, a fix typed into the database — is seen within
//! [`VALUE_LIFETIME`]: an entry is built again at least that often.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Lookup, ResponseCache};

/// How long a value is kept at most, whatever the scopes say.
pub const VALUE_LIFETIME: Duration = Duration::from_secs(300);

/// The key of `key`'s entry in the current lifetime: the lifetime's number is part of it, so
/// an entry of the previous one is never looked up again (and ages out of the byte budget).
fn aged(key: &str) -> String {
    let lifetime =
        u64::try_from(crate::time::now().timestamp()).unwrap_or(0) / VALUE_LIFETIME.as_secs();
    format!("{key}\u{1f}{lifetime}")
}

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
        self.value_kept_if(key, scopes, build, |_| true).await
    }

    /// As [`value`](Self::value), storing only a value `keep` accepts (an answer a client can
    /// vary at will, such as "no method with this id", is not worth its bytes).
    pub async fn value_kept_if<T, E, F, Fut>(
        &self,
        key: String,
        scopes: &[&'static str],
        build: F,
        keep: impl FnOnce(&T) -> bool,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = aged(&key);
        match self.lookup(&key, scopes).await {
            Lookup::Hit(body) => match serde_json::from_slice(&body) {
                Ok(value) => Ok(value),
                Err(_) => build().await,
            },
            Lookup::Miss(snapshot) => {
                let value = build().await?;
                if keep(&value)
                    && let Ok(body) = serde_json::to_vec(&value)
                {
                    self.store(key, snapshot, Vec::new(), body.into()).await;
                }
                Ok(value)
            }
            Lookup::Bypass => build().await,
        }
    }
}
