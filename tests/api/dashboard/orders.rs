//! Orders in the dashboard: its actions need the session's token and change nothing without
//! it; they follow the API's rules; what customers wrote is escaped.

use emporium::jobs::job;
use emporium::orders::order;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use super::signed_in;
use crate::fixtures::{Basket, address, order_of, set_status, stock};
use crate::helpers::{TestApp, spawn_app};

async fn stored(app: &TestApp, id: &str) -> order::Model {
    order::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .expect("read")
        .expect("order")
}

async fn mails(app: &TestApp) -> u64 {
    job::Entity::find()
        .filter(job::Column::Kind.eq("email.send"))
        .count(&app.state.db)
        .await
        .expect("count")
}

async fn paid_order(app: &TestApp) -> (String, i64) {
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let (id, product) = order_of(app, &staff, &customer, Basket::boots(2)).await;
    order::Entity::update_many()
        .col_expr(order::Column::PaymentStatus, Expr::value("PAID"))
        .filter(order::Column::Id.eq(id.as_str()))
        .exec(&app.state.db)
        .await
        .expect("pay");
    set_status(app, &id, "PAID").await;
    (id, product)
}

#[tokio::test]
async fn shipping_needs_the_session_s_token_and_a_page_of_this_site() {
    let app = spawn_app().await;
    let (id, _) = paid_order(&app).await;
    let (mut browser, _) = signed_in(&app).await;
    let path = format!("/admin/orders/{id}/ship/");
    let before = mails(&app).await;

    let page = browser.post(&path, &[("tracking_number", "T1")]).await;
    assert_eq!(page.status, 403, "no token");
    let page = browser
        .post(
            &path,
            &[("csrf", "not-the-token"), ("tracking_number", "T1")],
        )
        .await;
    assert_eq!(page.status, 403, "a wrong token");
    let csrf = browser.csrf().await;
    let page = browser
        .post_from(
            &path,
            &[("csrf", &csrf), ("tracking_number", "T1")],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(page.status, 403, "another origin, even with the token");
    let page = browser
        .post_from(&path, &[("csrf", &csrf), ("tracking_number", "T1")], None)
        .await;
    assert_eq!(page.status, 403, "no origin at all, even with the token");
    let order = stored(&app, &id).await;
    assert_eq!(
        (order.status.as_str(), order.tracking_number),
        ("PAID", None),
        "nothing changed"
    );
    assert_eq!(mails(&app).await, before, "nobody was mailed");

    let long = "x".repeat(101);
    let page = browser
        .post(&path, &[("csrf", &csrf), ("tracking_number", &long)])
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("tracking_number-errors")
            && page
                .body
                .contains("Ensure this field has no more than 100 characters."),
        "the API's error beside its field"
    );
    assert_eq!(stored(&app, &id).await.status.as_str(), "PAID");

    let page = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("carrier", "DHL"),
                ("tracking_number", "JD014600"),
            ],
        )
        .await;
    assert_eq!(
        (page.status, page.location()),
        (303, format!("/admin/orders/{id}/?done=shipped").as_str())
    );
    let order = stored(&app, &id).await;
    assert_eq!(order.status.as_str(), "SHIPPED");
    assert_eq!(order.tracking_number.as_deref(), Some("JD014600"));
    assert_eq!(mails(&app).await, before + 1, "the customer is mailed");

    let page = browser
        .post(&path, &[("csrf", &csrf), ("tracking_number", "again")])
        .await;
    assert_eq!(page.status, 409, "shipped already: the API's rule");
    assert_eq!(
        stored(&app, &id).await.tracking_number.as_deref(),
        Some("JD014600")
    );
    let page = browser.get(&format!("/admin/orders/{id}/")).await;
    assert!(page.body.contains("JD014600") && !page.body.contains("/ship/"));
    assert!(
        page.body.contains("your order is on its way"),
        "the emails sent about the order are listed"
    );
}

#[tokio::test]
async fn cancelling_a_paid_order_gives_the_stock_back() {
    let app = spawn_app().await;
    let (id, product) = paid_order(&app).await;
    assert_eq!(stock(&app, product).await, 8);
    let (mut browser, _) = signed_in(&app).await;
    let csrf = browser.csrf().await;
    let page = browser
        .post(&format!("/admin/orders/{id}/cancel/"), &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(stored(&app, &id).await.status.as_str(), "CANCELLED");
    assert_eq!(stock(&app, product).await, 10);
    let page = browser
        .post(&format!("/admin/orders/{id}/cancel/"), &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 409, "a second cancel changes nothing");
    assert_eq!(stock(&app, product).await, 10);
}

#[tokio::test]
async fn what_customers_wrote_is_escaped() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let mut to = address();
    to["full_name"] = json!("<script>alert('name')</script>");
    to["line1"] = json!("<img src=x onerror=alert(1)>");
    let basket = Basket {
        name: "<b>Bold</b> boot",
        address: to,
        ..Basket::boots(1)
    };
    let (id, _) = order_of(&app, &staff, &customer, basket).await;
    let (mut browser, _) = signed_in(&app).await;
    let page = browser.get(&format!("/admin/orders/{id}/")).await;
    assert_eq!(page.status, 200);
    for raw in ["<script>alert", "<img src=x", "<b>Bold</b>"] {
        assert!(
            !page.body.contains(raw),
            "{raw} is not in the page as markup"
        );
    }
    // askama writes `<` and `>` as numeric references.
    for escaped in [
        "&#60;script&#62;alert(",
        "&#60;img src=x onerror=alert(1)&#62;",
        "&#60;b&#62;Bold&#60;/b&#62;",
    ] {
        assert!(page.body.contains(escaped), "{escaped} is shown as text");
    }
}

#[tokio::test]
async fn the_list_filters_by_url_and_says_what_is_wrong_with_a_filter() {
    let app = spawn_app().await;
    let (paid, _) = paid_order(&app).await;
    let staff = app.staff_token().await;
    let customer = app.customer_token().await;
    let (pending, _) = order_of(&app, &staff, &customer, Basket::boots(1)).await;
    let (mut browser, _) = signed_in(&app).await;

    let page = browser.get("/admin/orders/?status=PAID").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&paid) && !page.body.contains(&pending));
    let page = browser.get("/admin/orders/?payment_status=UNPAID").await;
    assert!(page.body.contains(&pending) && !page.body.contains(&paid));
    let page = browser
        .get("/admin/orders/?status=LOST&from=yesterday")
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("status-errors") && page.body.contains("from-errors"));
    assert!(!page.body.contains(&paid));
    let page = browser.get("/admin/orders/?q=nobody-matches-this").await;
    assert!(page.body.contains("No orders match."));
}

#[tokio::test]
async fn thirty_parallel_ship_forms_ship_once_and_mail_once() {
    let app = spawn_app().await;
    let (id, _) = paid_order(&app).await;
    let (mut browser, _) = signed_in(&app).await;
    let csrf = browser.csrf().await;
    let cookie = browser.cookie_header();
    let before = mails(&app).await;
    let body = serde_urlencoded::to_string([("csrf", csrf.as_str()), ("tracking_number", "T-1")])
        .expect("form");
    let answers = crate::helpers::burst(30, |_| {
        app.client
            .post(app.url(&format!("/admin/orders/{id}/ship/")))
            .header("cookie", cookie.clone())
            .header("origin", app.url("").trim_end_matches('/'))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
    })
    .await;
    let shipped = answers.iter().filter(|a| a.status == 303).count();
    assert_eq!(shipped, 1, "one ship, the rest refused");
    assert!(answers.iter().all(|a| a.status == 303 || a.status == 409));
    assert_eq!(stored(&app, &id).await.status.as_str(), "SHIPPED");
    assert_eq!(mails(&app).await, before + 1, "one shipping confirmation");
}
