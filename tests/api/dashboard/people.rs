//! Customers, reviews and jobs in the dashboard: deactivation takes effect at once and never
//! locks staff out of their own account; a dead job is retried once.

use emporium::auth::user;
use emporium::jobs::job::{self, State};
use emporium::jobs::queue::{self, NewJob};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::signed_in;
use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn a_deactivated_customer_is_out_at_once_and_staff_cannot_lock_themselves_out() {
    let app = spawn_app().await;
    let email = "grace@example.com";
    let (status, body) = app
        .post(
            "/api/auth/register/",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    let token = app.access_token(email, PASSWORD).await;
    let (mut browser, staff_email) = signed_in(&app).await;

    let page = browser.get("/admin/customers/?q=GRACE@").await;
    assert!(page.body.contains(email), "found whatever the case");
    let csrf = browser.csrf().await;
    let path = format!("/admin/customers/{id}/deactivate/");
    assert_eq!(browser.post(&path, &[]).await.status, 403, "no token");
    assert_eq!(app.get_as("/api/orders/", Some(&token)).await.0, 200);
    for _ in 0..2 {
        let page = browser.post(&path, &[("csrf", &csrf)]).await;
        assert_eq!(page.status, 303, "twice is the same as once");
    }
    assert_eq!(
        app.get_as("/api/orders/", Some(&token)).await.0,
        401,
        "its token stops working"
    );
    let (status, _) = app
        .post(
            "/api/auth/login/",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 401, "and it cannot log in");
    let page = browser
        .post(
            &format!("/admin/customers/{id}/reactivate/"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(
        !app.access_token(email, PASSWORD).await.is_empty(),
        "back in"
    );

    let me = user::Entity::find()
        .filter(user::Column::Email.eq(staff_email.as_str()))
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("staff");
    let page = browser
        .post(
            &format!("/admin/customers/{}/deactivate/", me.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 409);
    assert!(
        page.body
            .contains("You cannot deactivate your own account.")
    );
    assert_eq!(browser.get("/admin/").await.status, 200, "still signed in");
}

#[tokio::test]
async fn a_dead_job_is_retried_and_a_queued_one_is_not() {
    let app = spawn_app().await;
    let dead = queue::insert(&app.state.db, NewJob::new("carts.purge", json!({})))
        .await
        .expect("job");
    job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(State::Dead))
        .col_expr(job::Column::LastError, Expr::value("<b>boom</b>"))
        .filter(job::Column::Id.eq(dead))
        .exec(&app.state.db)
        .await
        .expect("kill");
    let (mut browser, _) = signed_in(&app).await;
    let page = browser.get("/admin/jobs/?state=dead").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("/admin/jobs/{dead}/retry/")));
    assert!(
        page.body.contains("&#60;b&#62;boom") && !page.body.contains("<b>boom"),
        "escaped"
    );
    assert_eq!(browser.get("/admin/jobs/?state=zombie").await.status, 400);

    let csrf = page.csrf();
    let path = format!("/admin/jobs/{dead}/retry/");
    assert_eq!(browser.post(&path, &[("csrf", &csrf)]).await.status, 303);
    let row = job::Entity::find_by_id(dead)
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("job");
    assert!(
        matches!(row.state, State::Queued | State::Running | State::Done),
        "{:?}",
        row.state
    );
    let page = browser.post(&path, &[("csrf", &csrf)]).await;
    assert!(
        page.status == 409 || page.status == 303,
        "not dead any more: refused, unless it failed again meanwhile ({})",
        page.status
    );
}
