//! The dashboard's rules: who may sign in, what a session is worth, and when it ends.
//!
//! A session is a random token in an `HttpOnly`, `SameSite=Strict` cookie; the table keeps its
//! SHA-256. It is alive while its user is active staff with the password they signed in with,
//! and it was seen within [`IDLE_LIMIT`]; at sign-out its row is deleted. Every page and action
//! checks it, so a demotion, a deactivation or a new password ends it on the next request.

use std::net::IpAddr;

use chrono::TimeDelta;

use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::admin_session;
use super::store;
use crate::accounts::sessions as accounts;
use crate::auth::user;
use crate::gate::Gate;
use crate::http::error::ApiError;
use crate::throttle::Limiter;
use crate::{db, time};

/// A session unused this long has ended.
pub const IDLE_LIMIT: TimeDelta = TimeDelta::hours(12);

/// A session's last sight is written at most this often.
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

/// What sign-in answers a right password of an account that is not staff.
pub const NOT_STAFF: &str = "This is not a staff account.";

/// A live session: its user, its id (the token's digest) and its CSRF token.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: user::Model,
    pub id: String,
    pub csrf: String,
}

/// Why a sign-in was refused.
#[derive(Debug)]
pub enum SignInError {
    /// The API's answer (wrong password, throttled, no hashing slot, the database).
    Api(ApiError),
    /// The right password of a customer's account.
    NotStaff,
}

impl From<ApiError> for SignInError {
    fn from(e: ApiError) -> Self {
        SignInError::Api(e)
    }
}

/// 32 random bytes, URL-safe base64: a session token or a CSRF token.
pub fn random_token() -> Result<String, ApiError> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| crate::http::error::internal(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256, hex.
pub fn digest(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs a staff member in with the API's login rules (the same throttle, the same decoy hash)
/// and starts a session: the new session's token, for the cookie.
pub async fn sign_in(
    db: &DatabaseConnection,
    gate: &Gate,
    failures: Limiter<'_>,
    (email, password): (&str, String),
    client_ip: IpAddr,
) -> Result<(String, Session), SignInError> {
    let user = accounts::authenticate(db, gate, failures, email, password, client_ip).await?;
    if !user.is_staff {
        return Err(SignInError::NotStaff);
    }
    let token = random_token()?;
    let now = time::now();
    let row = admin_session::Model {
        id: digest(&token),
        user_id: user.id,
        csrf: random_token()?,
        password_digest: digest(&user.password),
        created_at: now,
        last_seen_at: now,
    };
    let session = Session {
        id: row.id.clone(),
        csrf: row.csrf.clone(),
        user: user.clone(),
    };
    let tx = db::begin_write(db).await.map_err(ApiError::from)?;
    store::delete_idle(&tx, now - IDLE_LIMIT)
        .await
        .map_err(ApiError::from)?;
    store::insert(&tx, row).await.map_err(ApiError::from)?;
    accounts::record_sign_in(&tx, user.id)
        .await
        .map_err(ApiError::from)?;
    tx.commit().await.map_err(ApiError::from)?;
    Ok((token, session))
}

/// The live session of a cookie's token, or `None` (an ended session's row is removed).
pub async fn session(db: &DatabaseConnection, token: &str) -> Result<Option<Session>, ApiError> {
    let id = digest(token);
    let Some((row, user)) = store::session(db, &id).await? else {
        return Ok(None);
    };
    let now = time::now();
    let alive = user.is_active
        && user.is_staff
        && row.password_digest == digest(&user.password)
        && now - row.last_seen_at < IDLE_LIMIT;
    if !alive {
        store::delete(db, &id).await?;
        return Ok(None);
    }
    if now - row.last_seen_at >= TOUCH_EVERY {
        store::touch(db, &id, now - TOUCH_EVERY, now).await?;
    }
    Ok(Some(Session {
        user,
        id,
        csrf: row.csrf,
    }))
}

/// Ends a session (sign-out).
pub async fn sign_out(db: &DatabaseConnection, session: &Session) -> Result<(), ApiError> {
    store::delete(db, &session.id).await?;
    Ok(())
}
