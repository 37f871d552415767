//! `Idempotency-Key`: the first answer to a request is stored in the same transaction as its
//! effect, unique per `(user, scope, key)`. A retry with the same key and the same request gets
//! that answer again (with `Idempotent-Replayed: true`) and changes nothing; the same key with
//! a different request is a 422. Two requests racing with one key both run, and the second's
//! insert of the record waits for the first and then fails on the unique index, so its
//! transaction — its whole effect — rolls back and it answers the first's response.
//!
//! Endpoints whose effect is not one transaction of their own take the key through the route
//! layer [`once`] instead, which claims the key before the handler runs.

pub mod once;
pub mod record;

pub use once::{Seal, once, once_sealed};

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;
use crate::jobs::{Job, JobContext, JobError};
use crate::time;

/// How long a key is remembered: an app retries within minutes, not days.
pub const RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The response header that marks a replayed answer.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A request made with a key: who, where, which key, and the hash of what was asked.
#[derive(Clone, Debug)]
pub struct Keyed {
    pub user_id: i64,
    pub scope: &'static str,
    /// SHA-256 (hex) of the key as sent: fixed length, and compared byte for byte whatever the
    /// column's collation (MariaDB's would make `Key-A` and `key-a` one key).
    pub key: String,
    pub request_hash: String,
}

impl Keyed {
    /// `key` for `user_id` at `scope`, for a request whose parsed form is `request`.
    pub fn new(user_id: i64, scope: &'static str, key: &str, request: &serde_json::Value) -> Keyed {
        Keyed {
            user_id,
            scope,
            key: hex(&Sha256::digest(key.as_bytes())),
            request_hash: request_hash(request),
        }
    }
}

/// SHA-256 (hex) of a parsed request in canonical form (keys sorted, no spaces).
pub fn request_hash(request: &serde_json::Value) -> String {
    let canonical = serde_json::to_string(request).unwrap_or_default();
    hex(&Sha256::digest(canonical.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A first answer, to send again.
#[derive(Clone, Debug)]
pub struct Stored {
    pub status: u16,
    pub body: String,
}

impl IntoResponse for Stored {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut response = (status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
        response
    }
}

/// The stored answer for `keyed`, if the key was used before: `Err(422)` when it was used for
/// a different request.
pub async fn find<C: ConnectionTrait>(conn: &C, keyed: &Keyed) -> Result<Option<Stored>, ApiError> {
    let row = record::Entity::find()
        .filter(record::Column::UserId.eq(keyed.user_id))
        .filter(record::Column::Scope.eq(keyed.scope))
        .filter(record::Column::Key.eq(keyed.key.as_str()))
        .one(conn)
        .await?;
    match row {
        None => Ok(None),
        Some(row) if row.request_hash == keyed.request_hash => Ok(Some(Stored {
            status: u16::try_from(row.status).unwrap_or(200),
            body: row.response,
        })),
        Some(_) => Err(ApiError::Unprocessable(
            "This Idempotency-Key was used for a different request.".to_owned(),
        )),
    }
}

/// Stores the first answer, in the transaction of its effect. A unique violation means a
/// parallel request with the same key committed first: roll back and [`find`] its answer.
pub async fn save<C: ConnectionTrait>(
    conn: &C,
    keyed: &Keyed,
    status: u16,
    body: &str,
) -> Result<(), DbErr> {
    let row = record::ActiveModel {
        user_id: Set(keyed.user_id),
        scope: Set(keyed.scope.to_owned()),
        key: Set(keyed.key.clone()),
        request_hash: Set(keyed.request_hash.clone()),
        status: Set(i32::from(status)),
        response: Set(body.to_owned()),
        created_at: Set(time::now()),
        ..Default::default()
    };
    // Without reading the row back (MySQL has no RETURNING: that would be a second statement).
    record::Entity::insert(row)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Deletes records older than [`RETENTION`]; hourly.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PurgeKeys {}

impl Job for PurgeKeys {
    const KIND: &'static str = "idempotency.purge";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        purge(&ctx.state.db).await?;
        Ok(())
    }
}

async fn purge(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let cutoff = time::now() - chrono::Duration::from_std(RETENTION).unwrap_or_default();
    Ok(record::Entity::delete_many()
        .filter(record::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
