//! Who wrote lately: a mark per client (`user:<id>` or `ip:<address>`) that lasts the replica's
//! maximum lag and two seconds, so a client's reads after its own write go to the primary. In
//! Redis when configured (every node sees it), else in this process, bounded.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::redis_link::RedisLink;

/// Most marks kept in process; past it everybody counts as a writer until room is made.
const MAX_LOCAL_MARKS: usize = 100_000;

/// The client a mark is about: the user of a valid access token, else the client address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WriterKey(String);

impl WriterKey {
    /// A logged-in user.
    pub fn user(id: i64) -> WriterKey {
        WriterKey(format!("user:{id}"))
    }

    /// An anonymous client, by address.
    pub fn address(ip: std::net::IpAddr) -> WriterKey {
        WriterKey(format!("ip:{ip}"))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the marks live.
pub(super) enum Writers {
    /// In Redis under the configured prefix.
    Redis {
        /// The shared connection.
        link: RedisLink,
        /// `EMPORIUM_REDIS_PREFIX` and `replica-writer:`.
        prefix: String,
    },
    /// In this process.
    Local(Mutex<LocalMarks>),
}

/// The in-process marks: each key with its expiry, and an expiry for "everybody" once full.
#[derive(Default)]
pub(super) struct LocalMarks {
    marks: HashMap<WriterKey, Instant>,
    everybody_until: Option<Instant>,
}

impl LocalMarks {
    fn mark(&mut self, key: &WriterKey, until: Instant) {
        let now = Instant::now();
        let full = !self.marks.contains_key(key) && self.marks.len() >= MAX_LOCAL_MARKS;
        if full
            && self
                .everybody_until
                .is_some_and(|everybody| everybody > now)
        {
            // Everybody is a writer already: keep it so, without sweeping the map on every
            // write of a flood (the sweep runs at most once a mark's lifetime).
            self.everybody_until = Some(until);
            return;
        }
        if full {
            self.marks.retain(|_, expires| *expires > now);
        }
        if self.marks.contains_key(key) || self.marks.len() < MAX_LOCAL_MARKS {
            self.marks.insert(key.clone(), until);
        } else {
            // Full of live marks: rather than grow, everybody reads from the primary for a
            // while (safe, only slower).
            self.everybody_until = Some(until);
        }
    }

    fn is_marked(&self, key: &WriterKey) -> bool {
        let now = Instant::now();
        self.everybody_until.is_some_and(|until| until > now)
            || self.marks.get(key).is_some_and(|until| *until > now)
    }
}

impl Writers {
    /// Marks in Redis when there is a link, else in process.
    pub(super) fn new(redis: Option<(RedisLink, &str)>) -> Writers {
        match redis {
            Some((link, prefix)) => Writers::Redis {
                link,
                prefix: format!("{prefix}replica-writer:"),
            },
            None => Writers::Local(Mutex::default()),
        }
    }

    /// Marks `key` as a writer for `ttl`.
    pub(super) async fn mark(&self, key: &WriterKey, ttl: Duration) {
        match self {
            Writers::Redis { link, prefix } => {
                let name = format!("{prefix}{}", key.as_str());
                let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
                let set = link
                    .run(|mut conn| async move {
                        redis::cmd("SET")
                            .arg(&name)
                            .arg(1)
                            .arg("PX")
                            .arg(millis)
                            .query_async::<()>(&mut conn)
                            .await
                    })
                    .await;
                if let Err(error) = set {
                    // While Redis does not answer, every check fails too and reads go to the
                    // primary: the mark is not needed until it is back.
                    tracing::warn!(%error, "a writer's mark was not recorded in Redis");
                }
            }
            Writers::Local(marks) => marks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .mark(key, Instant::now() + ttl),
        }
    }

    /// True when `key` wrote lately — or when that cannot be known (Redis does not answer).
    pub(super) async fn is_marked(&self, key: &WriterKey) -> bool {
        match self {
            Writers::Redis { link, prefix } => {
                let name = format!("{prefix}{}", key.as_str());
                let exists = link
                    .run(|mut conn| async move {
                        redis::cmd("EXISTS")
                            .arg(&name)
                            .query_async::<u64>(&mut conn)
                            .await
                    })
                    .await;
                exists.map_or(true, |n| n > 0)
            }
            Writers::Local(marks) => marks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_marked(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_lasts_its_time_and_a_full_map_marks_everybody() {
        let mut marks = LocalMarks::default();
        let ada = WriterKey::user(1);
        let later = Instant::now() + Duration::from_secs(60);
        marks.mark(&ada, later);
        assert!(marks.is_marked(&ada));
        assert!(!marks.is_marked(&WriterKey::user(2)));
        marks.mark(&WriterKey::user(3), Instant::now());
        assert!(!marks.is_marked(&WriterKey::user(3)), "expired");
        for id in 10..(10 + i64::try_from(MAX_LOCAL_MARKS).unwrap_or(0)) {
            marks.mark(&WriterKey::user(id), later);
        }
        assert!(marks.marks.len() <= MAX_LOCAL_MARKS, "bounded");
        assert!(marks.is_marked(&WriterKey::user(2)), "full: everybody");
    }
}
