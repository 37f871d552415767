//! Password reset by a code sent by email.
//!
//! What is stored where: the request only queues an `accounts.password_reset` job whose payload
//! is the address asked for, the time of the request and a random nonce (no code). The job
//! derives the code with the secret key from its own id, the account and the nonce (an HMAC, so
//! a retried job mails the same code instead of a second one, and a job id reused after a
//! restore makes a different one), stores only the code's SHA-256, and hands the message to the
//! mail server itself — the readable code exists only in that message, never in a table, a job
//! payload, a log line or an API answer. A code is single use, lives one hour from the request
//! (a job run later mails nothing), and dies with any password change or completed reset.

use std::net::IpAddr;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::service::{new_password_hash, normalize_email, set_password};
use super::store;
use crate::email::{self, EmailError};
use crate::gate::Gate;
use crate::http::error::{ApiError, field_error};
use crate::jobs::{Job, JobContext, JobError, queue};
use crate::throttle::{Rate, Throttle, client_key};
use crate::{db, time};

/// How long a reset code is valid.
pub const RESET_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// Makes and mails a reset code: if the account exists and is active, stores the code's hash
/// (once) and sends the message. A failed send is retried with the same code; a code that was
/// used meanwhile, or a request more than an hour old, is not mailed (again). The payload holds
/// no secret: the code is derived when the job runs.
#[derive(Serialize, Deserialize)]
pub struct PasswordReset {
    email: String,
    /// When it was asked for: the code expires an hour after this.
    requested_at: chrono::DateTime<chrono::Utc>,
    /// Random, so that the code is not a function of the job id alone.
    nonce: String,
}

/// Asks for a reset. The request does the same work whether or not the account exists — it
/// only queues a job — so neither the answer nor its timing tells. 429 when one address or
/// one client asks too often (counted before deciding).
pub async fn request_password_reset(
    db: &DatabaseConnection,
    throttle: &Throttle,
    email: &str,
    client_ip: IpAddr,
) -> Result<(), ApiError> {
    let email = normalize_email(email)
        .ok_or_else(|| field_error("email", "Enter a valid email address."))?;
    let per_hour = |limit| Rate {
        limit,
        period: Duration::from_secs(3600),
    };
    // The client's counter first: a client already refused creates no address counter.
    throttle
        .admit(&format!("reset:ip:{}", client_key(client_ip)), per_hour(20))
        .await?;
    throttle
        .admit(&format!("reset:email:{email}"), per_hour(3))
        .await?;
    let mut nonce = [0_u8; 16];
    getrandom::fill(&mut nonce).map_err(crate::http::error::internal)?;
    let request = PasswordReset {
        email,
        requested_at: time::now(),
        nonce: nonce.iter().map(|b| format!("{b:02x}")).collect(),
    };
    queue::enqueue(db, &request).await?;
    Ok(())
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The code for a job: an HMAC with the secret key of the job id, the account and the request's
/// nonce, so a re-run of the same job makes the same code (and finds its row) instead of
/// mailing a second one.
fn reset_code_for(
    secret: &[u8],
    job_id: i64,
    user_id: i64,
    nonce: &str,
) -> Result<String, JobError> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret).map_err(|e| JobError::Permanent(e.to_string()))?;
    mac.update(format!("password-reset:{job_id}:{user_id}:{nonce}").as_bytes());
    Ok(mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Job for PasswordReset {
    const KIND: &'static str = "accounts.password_reset";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        mail_reset_code(&ctx, self).await
    }
}

async fn mail_reset_code(ctx: &JobContext, request: PasswordReset) -> Result<(), JobError> {
    let state = &ctx.state;
    let ttl = chrono::TimeDelta::from_std(RESET_TOKEN_TTL)
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let expires_at = request.requested_at + ttl;
    let now = time::now();
    if expires_at <= now {
        return Ok(());
    }
    let Some(user) = store::user_by_email(&state.db, &request.email)
        .await?
        .filter(|u| u.is_active)
    else {
        return Ok(());
    };
    let code = reset_code_for(
        state.settings.secret_key.expose(),
        ctx.job_id,
        user.id,
        &request.nonce,
    )?;
    let code_hash = sha256_hex(&code);
    match store::reset_code(&state.db, &code_hash).await? {
        Some(row) if row.used_at.is_some() => return Ok(()),
        Some(_) => {}
        None => {
            let inserted =
                store::insert_reset_code(&state.db, &code_hash, user.id, now, expires_at).await;
            match inserted {
                // A parallel run of this job stored it first: the same code, mailed below.
                Err(e) if db::is_unique_violation(&e) => {}
                other => {
                    other?;
                }
            }
        }
    }
    let message = email::PASSWORD_RESET
        .render(
            &user.email,
            &[
                ("shop", state.settings.shop_name.as_str()),
                ("email", user.email.as_str()),
                ("token", code.as_str()),
            ],
        )
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    match state.mailer.send(&message).await {
        Ok(()) => Ok(()),
        Err(EmailError::Invalid(e)) => Err(JobError::Permanent(e)),
        Err(e) => Err(JobError::retry(e)),
    }
}

/// Sets a new password with a reset code: single use, one hour; every refresh token and every
/// other reset code of the user dies with it.
pub async fn confirm_password_reset(
    db: &DatabaseConnection,
    gate: &Gate,
    code: &str,
    new_password: String,
) -> Result<(), ApiError> {
    let bad_code = || field_error("token", "Invalid or expired token.");
    let code_hash = sha256_hex(code.trim());
    let now = time::now();
    let row = store::reset_code(db, &code_hash)
        .await?
        .filter(|row| row.used_at.is_none() && row.expires_at > now)
        .ok_or_else(bad_code)?;
    let user = store::active_user(db, row.user_id)
        .await?
        .ok_or_else(bad_code)?;
    let hash = new_password_hash(gate, &user, new_password).await?;
    let tx = db::begin_write(db).await?;
    // Spend the code with a conditional update: of two uses, one wins.
    if !store::spend_reset_code(&tx, &code_hash, now).await? {
        tx.rollback().await?;
        return Err(bad_code());
    }
    set_password(&tx, user.id, hash).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_codes_are_stable_per_job_and_secret() {
        let one = b"secret-one-that-is-long-enough-000";
        let a = reset_code_for(one, 5, 1, "n1").expect("mac");
        assert_eq!(a, reset_code_for(one, 5, 1, "n1").expect("mac"));
        assert_ne!(a, reset_code_for(one, 6, 1, "n1").expect("mac"));
        assert_ne!(a, reset_code_for(one, 5, 2, "n1").expect("mac"));
        assert_ne!(a, reset_code_for(one, 5, 1, "n2").expect("mac"));
        assert_ne!(
            a,
            reset_code_for(b"secret-two-that-is-long-enough-000", 5, 1, "n1").expect("mac")
        );
        assert_eq!(a.len(), 64);
    }
}
