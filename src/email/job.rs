//! Delivering mail as a job: a request or a job queues an [`Email`] in its transaction, and a
//! worker sends it, retrying while the mail server does not answer.

use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use super::{Email, EmailError};
use crate::jobs::{Job, JobContext, JobError, queue};

/// Sends one message. The payload is the message itself.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct SendEmail {
    /// The rendered message.
    pub email: Email,
}

impl Job for SendEmail {
    const KIND: &'static str = "email.send";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        match ctx.state.mailer.send(&self.email).await {
            Ok(()) => Ok(()),
            Err(EmailError::Invalid(e)) => Err(JobError::Permanent(e)),
            Err(e) => Err(JobError::retry(e)),
        }
    }
}

/// Queues `email` for delivery on `conn` (pass the business transaction).
pub async fn enqueue<C: ConnectionTrait>(conn: &C, email: Email) -> Result<i64, DbErr> {
    queue::enqueue(conn, &SendEmail { email }).await
}

/// A message queued for delivery, as staff see it: to whom, what, and whether it went.
#[derive(Clone, Debug)]
pub struct Queued {
    pub to: String,
    pub subject: String,
    pub state: crate::jobs::State,
    pub queued_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The messages queued since `since` whose text mentions `reference` (an order's id: its
/// confirmation, its shipping confirmation, a refund alert), oldest first, at most `limit` —
/// while the queue keeps their rows (`EMPORIUM_JOB_RETENTION`).
pub async fn mentioning<C: ConnectionTrait>(
    conn: &C,
    reference: &str,
    since: chrono::DateTime<chrono::Utc>,
    limit: u64,
) -> Result<Vec<Queued>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

    use crate::jobs::job;
    let backend = conn.get_database_backend();
    let pattern = LikeExpr::new(format!("%{}%", crate::db::like_escape(reference))).escape('\\');
    let rows = job::Entity::find()
        .filter(job::Column::Kind.eq(SendEmail::KIND))
        .filter(
            Expr::col(job::Column::CreatedAt).gte(Expr::value(crate::db::timestamp_value(
                backend,
                Some(since),
            ))),
        )
        .filter(Expr::col(job::Column::Payload).like(pattern))
        .order_by_asc(job::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let SendEmail { email } = serde_json::from_str(&row.payload).ok()?;
            Some(Queued {
                to: email.to,
                subject: email.subject,
                state: row.state,
                queued_at: row.created_at,
                sent_at: row
                    .finished_at
                    .filter(|_| row.state == crate::jobs::State::Done),
            })
        })
        .collect())
}
