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
