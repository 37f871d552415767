//! Which database serves a read that may go to the replica ([`read`]), and the writers' marks
//! that keep a client's reads on the primary after it wrote ([`WriteMark`], set by `edge`).
//!
//! A client is the user of a valid access token, else its address (`RequestContext::client_ip`,
//! which honours `EMPORIUM_TRUSTED_PROXIES`). After a `POST`, `PUT`, `PATCH` or `DELETE` that
//! answered below 400 the client is marked as a writer for the replica's maximum lag and two
//! seconds; a read by a marked client goes to the primary. Without a replica nothing here costs
//! more than a branch.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use sea_orm::DatabaseConnection;

use super::context::RequestContext;
use super::error::{ApiError, ApiResult};
use crate::replica::{Target, WriterKey, count_read};
use crate::state::AppState;

/// Who is reading, kept from the request until a read is about to query the database (a
/// cache hit never looks at it), and which database [`read`] chose for the build it runs: the
/// build asks [`Reader::db`]. Empty without a replica.
#[derive(Debug, Default)]
pub struct Reader {
    client: Option<Client>,
    on_replica: AtomicBool,
}

impl Reader {
    /// The database the read being built queries (the primary unless [`read`] chose the
    /// replica for this build).
    pub fn db<'s>(&self, state: &'s AppState) -> &'s DatabaseConnection {
        match state.replica.as_deref() {
            Some(replica) if self.on_replica.load(Ordering::Relaxed) => replica.db(),
            _ => &state.db,
        }
    }

    fn choose(&self, target: Target) {
        self.on_replica
            .store(target == Target::Replica, Ordering::Relaxed);
    }
}

/// What identifies a client: its bearer token (checked only when needed) and its address.
#[derive(Debug)]
struct Client {
    authorization: Option<HeaderValue>,
    ip: IpAddr,
}

impl Client {
    fn of(parts_headers: &axum::http::HeaderMap, ip: IpAddr) -> Client {
        Client {
            authorization: parts_headers.get(header::AUTHORIZATION).cloned(),
            ip,
        }
    }

    /// The user of a valid access token, else the address.
    fn key(&self, state: &AppState) -> WriterKey {
        match super::rate_limit::token_user(state, self.authorization.as_ref()) {
            Some(user) => WriterKey::user(user),
            None => WriterKey::address(self.ip),
        }
    }
}

impl<S> FromRequestParts<S> for Reader
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if AppState::from_ref(state).replica.is_none() {
            return Ok(Reader::default());
        }
        let ip = parts
            .extensions
            .get::<RequestContext>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.client_ip);
        Ok(Reader {
            client: Some(Client::of(&parts.headers, ip)),
            on_replica: AtomicBool::new(false),
        })
    }
}

/// How fresh the replica must be for a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Usable (within the maximum lag), for a client that did not write lately: the response
    /// is not stored.
    WithinLag,
    /// Caught up with the primary as it is now: the response is stored in the cache, so it
    /// must be as fresh as a read on the primary (see `catalog::routes::cached`).
    CaughtUp,
}

/// Runs `build` on the replica when `freshness` allows it, else on the primary (the build reads
/// [`Reader::db`]); a build that fails on the replica with a server error is run once more on
/// the primary (a dead replica must not fail a read).
pub async fn read<T, F, Fut>(
    state: &AppState,
    reader: &Reader,
    freshness: Freshness,
    build: F,
) -> ApiResult<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let replica = state.replica.as_deref();
    let Some(replica) = replica.filter(|r| r.usable()) else {
        count_read(replica, Target::Primary);
        reader.choose(Target::Primary);
        return build().await;
    };
    let use_replica = match (freshness, &reader.client) {
        (Freshness::CaughtUp, _) => replica.has_caught_up_with(&state.db).await,
        (Freshness::WithinLag, Some(client)) => !replica.wrote_lately(&client.key(state)).await,
        (Freshness::WithinLag, None) => false,
    };
    let first = if use_replica {
        Target::Replica
    } else {
        Target::Primary
    };
    count_read(Some(replica), first);
    reader.choose(first);
    match build().await {
        Err(error) if first == Target::Replica && is_failure(&error) => {
            tracing::warn!(%error, "a read failed on the replica; reading from the primary");
            count_read(Some(replica), Target::Primary);
            reader.choose(Target::Primary);
            build().await
        }
        answer => answer,
    }
}

/// An error that says the database failed rather than what the data is.
fn is_failure(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Unavailable(_) | ApiError::Overloaded | ApiError::Internal(_)
    )
}

/// A mutating request's client, kept by `edge` to mark it once it has answered.
#[derive(Debug)]
pub struct WriteMark(Client);

impl WriteMark {
    /// The client of a `POST`, `PUT`, `PATCH` or `DELETE` when there is a replica.
    pub fn of(state: &AppState, request: &Request, client_ip: IpAddr) -> Option<WriteMark> {
        state.replica.as_ref()?;
        let mutating = matches!(
            *request.method(),
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
        mutating.then(|| WriteMark(Client::of(request.headers(), client_ip)))
    }

    /// Marks the client as a writer when the request answered `status` below 400.
    pub async fn record(self, state: &AppState, status: StatusCode) {
        if let Some(replica) = state.replica.as_deref()
            && status.as_u16() < 400
        {
            replica.mark_writer(&self.0.key(state)).await;
        }
    }
}
