//! Email through a real SMTP listener: rendered templates, sent by the worker, retried when
//! the server refuses.

use emporium::jobs::Job;
use std::time::Duration;

use emporium::email::{self, PASSWORD_RESET};
use emporium::jobs::job;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::fixtures::app_with_mail;
use crate::helpers::{TestApp, eventually};
use crate::standins::SmtpServer;

/// The settings of these tests' apps, after `EMAIL_URL`.
const MAIL: [(&str, &str); 2] = [
    ("EMAIL_FROM", "Emporium Shop <shop@shop.example>"),
    ("EMPORIUM_JOB_RETRY_BASE", "100ms"),
];

async fn last_job(app: &TestApp) -> job::Model {
    job::Entity::find()
        .filter(job::Column::Kind.eq(<email::job::SendEmail as Job>::KIND))
        .order_by_desc(job::Column::Id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("a job")
}

#[tokio::test]
async fn a_queued_message_is_delivered_by_smtp_with_a_text_and_an_html_part() {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(&smtp, &MAIL).await;
    let message = PASSWORD_RESET
        .render(
            "ada@customer.example",
            &[
                ("shop", "Emporium"),
                ("email", "ada@customer.example"),
                ("token", "RESET-123"),
            ],
        )
        .expect("renders");
    let tx = emporium::db::begin_write(&app.state.db)
        .await
        .expect("begin");
    email::job::enqueue(&tx, message.clone())
        .await
        .expect("enqueued");
    tx.commit().await.expect("commit");

    let arrived = eventually(Duration::from_secs(15), || async {
        !smtp.messages().is_empty()
    })
    .await;
    assert!(arrived, "no mail arrived");
    let mail = smtp.messages().remove(0);
    assert_eq!(mail.mail_from, "shop@shop.example");
    assert_eq!(mail.rcpt_to, ["ada@customer.example"]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Reset your Emporium password")
    );
    assert!(
        mail.header("From")
            .expect("From")
            .contains("shop@shop.example")
    );
    assert!(
        mail.header("To")
            .expect("To")
            .contains("ada@customer.example")
    );
    assert!(
        mail.header("Content-Type")
            .expect("type")
            .starts_with("multipart/alternative")
    );
    let text = mail.part("text/plain").expect("a text part");
    let html = mail.part("text/html").expect("an HTML part");
    assert!(
        text.contains("RESET-123") && !text.contains("<p>"),
        "{text}"
    );
    assert!(html.contains("<code>RESET-123</code>"), "{html}");
    let done = eventually(Duration::from_secs(5), || async {
        last_job(&app).await.state.as_str() == "done"
    })
    .await;
    assert!(done);
}

#[tokio::test]
async fn a_refused_message_is_retried_until_the_server_takes_it() {
    let smtp = SmtpServer::start().await;
    smtp.refuse(true);
    let app = app_with_mail(&smtp, &MAIL).await;
    let message = email::Email {
        to: "bob@customer.example".to_owned(),
        subject: "Hello".to_owned(),
        text: "plain".to_owned(),
        html: "<p>html</p>".to_owned(),
        attachments: Vec::new(),
    };
    email::job::enqueue(&app.state.db, message.clone())
        .await
        .expect("enqueued");
    let failed = eventually(Duration::from_secs(10), || async {
        let job = last_job(&app).await;
        job.attempts >= 1 && job.last_error.as_deref().is_some_and(|e| e.contains("451"))
    })
    .await;
    assert!(failed, "the refusal must be recorded on the job");
    assert!(smtp.messages().is_empty());

    smtp.refuse(false);
    let delivered = eventually(Duration::from_secs(15), || async {
        last_job(&app).await.state.as_str() == "done"
    })
    .await;
    assert!(delivered, "the job must be retried and succeed");
    assert_eq!(smtp.messages().len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn a_mail_server_that_is_down_never_loses_the_job() {
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(
        &smtp,
        &[
            MAIL[0],
            MAIL[1],
            ("EMAIL_URL", &format!("smtp://127.0.0.1:{port}")),
        ],
    )
    .await;
    let message = email::Email {
        to: "carol@customer.example".to_owned(),
        subject: "Hello".to_owned(),
        text: "plain".to_owned(),
        html: "<p>html</p>".to_owned(),
        attachments: Vec::new(),
    };
    email::job::enqueue(&app.state.db, message.clone())
        .await
        .expect("enqueued");
    let recorded = eventually(Duration::from_secs(10), || async {
        let job = last_job(&app).await;
        matches!(job.state.as_str(), "failed" | "queued" | "running" | "dead")
            && job.last_error.is_some()
    })
    .await;
    assert!(recorded);
    let job = last_job(&app).await;
    assert_ne!(job.state.as_str(), "done");
    assert!(job.last_error.unwrap_or_default().contains("SMTP"));
}
