//! `Idempotency-Key` for the endpoints that create or add (cart add, addresses, reviews, staff
//! creations), written once as a route layer — [`once`] — so no handler repeats it.
//!
//! The key is claimed before the handler runs: a record with no answer yet (status 0) is
//! inserted, unique per `(user, scope, key)`, so of two requests with one key the database lets
//! one run. A success (2xx) fills the record with the answer; anything else removes it, so a
//! retry runs again. A request that finds its key:
//! - answered → that answer again, with `Idempotent-Replayed: true`, and nothing runs;
//! - for a different request (method, path or body) → 422;
//! - still running → it waits up to [`WAIT`] for the answer, then 409 (try again);
//! - claimed longer ago than [`ABANDONED`] and never answered (its process died) → taken over.
//!
//! The request is the method, the path and the body — JSON in canonical form (keys sorted, no
//! spaces), so a retry that orders its keys differently is the same request; a multipart body
//! with its boundary left out, which a client picks anew on every attempt.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::{Keyed, Stored, hex, record, save};
use crate::auth::AuthUser;
use crate::http::error::{ApiError, conflict, internal};
use crate::http::extract::IdempotencyKey;
use crate::state::AppState;
use crate::{db, time};

/// How long a request waits for the answer of another with its key.
pub const WAIT: Duration = Duration::from_secs(3);

/// A claim never answered for this long was left by a request that died: it is taken over.
pub const ABANDONED: Duration = Duration::from_secs(120);

/// How often a waiting request looks again.
const POLL: Duration = Duration::from_millis(50);

/// The status of a claimed key whose request has not answered yet.
const PENDING: u16 = 0;

/// `handler` honouring `Idempotency-Key` under `scope` (one per endpoint, at most 40
/// characters). Requests without the header, or without a valid token (the handler answers
/// 401), pass straight through.
pub fn once<S>(handler: MethodRouter<S>, scope: &'static str) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    handler.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| run_once(scope, None, request, next),
    ))
}

/// How the answer of an endpoint that shows a secret once is kept: sealed (encrypted) by the
/// endpoint's own app before it is stored, opened when it is replayed — so the record, which
/// lives a day, never holds the secret in the clear.
#[derive(Clone, Copy)]
pub struct Seal {
    pub seal: fn(&AppState, &str) -> Result<String, ApiError>,
    pub open: fn(&AppState, &str) -> Result<String, ApiError>,
}

/// [`once`] for an answer that holds a secret: kept sealed with `seal`.
pub fn once_sealed<S>(handler: MethodRouter<S>, scope: &'static str, seal: Seal) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    handler.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| run_once(scope, Some(seal), request, next),
    ))
}

async fn run_once(
    scope: &'static str,
    seal: Option<Seal>,
    request: Request,
    next: Next,
) -> Response {
    let Some(state) = request.extensions().get::<AppState>().cloned() else {
        return next.run(request).await;
    };
    let (mut parts, body) = request.into_parts();
    let key = match IdempotencyKey::from_request_parts(&mut parts, &()).await {
        Ok(IdempotencyKey(Some(key))) => key,
        Ok(IdempotencyKey(None)) => return next.run(Request::from_parts(parts, body)).await,
        Err(refused) => return refused.into_response(),
    };
    let Ok(user) = AuthUser::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let keyed = Keyed {
        user_id: user.id(),
        scope,
        key: hex(&Sha256::digest(key.as_bytes())),
        request_hash: request_digest(&parts, &bytes),
    };
    match claim(&state.db, &keyed).await {
        Ok(None) => {}
        Ok(Some(mut stored)) => {
            if let Some(seal) = seal {
                match (seal.open)(&state, &stored.body) {
                    Ok(body) => stored.body = body,
                    Err(e) => return e.into_response(),
                }
            }
            return stored.into_response();
        }
        Err(refused) => return refused.into_response(),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    match finish(&state, &keyed, seal, response).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// SHA-256 (hex) of the method, the path and the body in canonical form.
fn request_digest(parts: &Parts, body: &[u8]) -> String {
    let content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let canonical: Vec<u8> = if let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
    {
        String::from_utf8_lossy(body)
            .replace(boundary, "")
            .into_bytes()
    } else {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec()),
            Err(_) => body.to_vec(),
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&canonical);
    hex(&hasher.finalize())
}

async fn record_of(
    db: &DatabaseConnection,
    keyed: &Keyed,
) -> Result<Option<record::Model>, ApiError> {
    Ok(record::Entity::find()
        .filter(record::Column::UserId.eq(keyed.user_id))
        .filter(record::Column::Scope.eq(keyed.scope))
        .filter(record::Column::Key.eq(keyed.key.as_str()))
        .one(db)
        .await?)
}

/// Claims the key for this request (`None`: run it), or the answer to send instead.
async fn claim(db: &DatabaseConnection, keyed: &Keyed) -> Result<Option<Stored>, ApiError> {
    let deadline = Instant::now() + WAIT;
    loop {
        match save(db, keyed, PENDING, "").await {
            Ok(()) => return Ok(None),
            Err(e) if db::is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(row) = record_of(db, keyed).await? {
            if row.request_hash != keyed.request_hash {
                return Err(ApiError::Unprocessable(
                    "This Idempotency-Key was used for a different request.".to_owned(),
                ));
            }
            if row.status != i32::from(PENDING) {
                return Ok(Some(Stored {
                    status: u16::try_from(row.status).unwrap_or(200),
                    body: row.response,
                }));
            }
            let age = time::now() - row.created_at;
            if age > chrono::Duration::from_std(ABANDONED).unwrap_or_default() {
                tracing::warn!(
                    scope = keyed.scope,
                    "an abandoned Idempotency-Key claim taken over"
                );
                forget(db, row.id).await?;
                continue;
            }
        }
        if Instant::now() >= deadline {
            return Err(conflict(
                "A request with this Idempotency-Key is still being processed; try again.",
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Removes an unanswered claim (one conditional delete: an answered record stays).
async fn forget(db: &DatabaseConnection, id: i64) -> Result<(), ApiError> {
    record::Entity::delete_many()
        .filter(record::Column::Id.eq(id))
        .filter(record::Column::Status.eq(i32::from(PENDING)))
        .exec(db)
        .await?;
    Ok(())
}

/// For a caller that runs its request itself (the dashboard's forms): claims `keyed` — `None`:
/// run it, then [`settle`] — or gives the first answer. `Err(422)`: the key was used for a
/// different request; `Err(409)`: that request is still running.
pub async fn claim_for(db: &DatabaseConnection, keyed: &Keyed) -> Result<Option<Stored>, ApiError> {
    claim(db, keyed).await
}

/// Keeps `answer` (status, body) under a claimed key, or releases the key (`None`: the request
/// did not succeed, and a retry runs again).
pub async fn settle(
    db: &DatabaseConnection,
    keyed: &Keyed,
    answer: Option<(u16, String)>,
) -> Result<(), ApiError> {
    let Some(row) = record_of(db, keyed).await? else {
        return Ok(());
    };
    let Some((status, body)) = answer else {
        return forget(db, row.id).await;
    };
    record::Entity::update_many()
        .col_expr(record::Column::Status, Expr::value(i32::from(status)))
        .col_expr(record::Column::Response, Expr::value(body))
        .filter(record::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Keeps a success's answer under the key; anything else releases the key.
async fn finish(
    state: &AppState,
    keyed: &Keyed,
    seal: Option<Seal>,
    response: Response,
) -> Result<Response, ApiError> {
    if !response.status().is_success() {
        settle(&state.db, keyed, None).await?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.map_err(internal)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if let Some(seal) = seal {
        text = (seal.seal)(state, &text)?;
    }
    settle(&state.db, keyed, Some((parts.status.as_u16(), text))).await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
