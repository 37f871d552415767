//! Orders: the list (filtered by URL), an order's page, and staff's moves — shipped (with a
//! tracking number the customer is mailed), delivered, cancelled (refunded when paid) — through
//! the orders' own lifecycle, and the invoice.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::accounts::service as accounts;
use crate::catalog::inventory;
use crate::dashboard::days::start_of;
use crate::dashboard::guard::{Staff, StaffForm};
use crate::dashboard::page::{self, Refusal};
use crate::dashboard::service::Session;
use crate::dashboard::views::forms::FormErrors;
use crate::dashboard::views::orders::{
    EmailRow, LineRow, MovementRow, OrderPage, OrderQuery, OrderRow, OrdersPage, PaymentFacts,
    address_lines, shop_time,
};
use crate::dashboard::views::pager::{PAGE_SIZE, Pager, offset, page_number};
use crate::http::error::ApiError;
use crate::http::extract::read;
use crate::jobs::State as JobState;
use crate::money::{Currency, Money};
use crate::orders::invoice::{self, Issuer};
use crate::orders::lifecycle::{self, Canceller};
use crate::orders::staff::{self as orders, OrderFilter};
use crate::orders::status::{Actor, OrderStatus, PaymentStatus};
use crate::orders::views::{OrderView, StatusChange};
use crate::payments::staff as payments;
use crate::state::AppState;

/// The most emails an order's page lists.
const EMAILS_SHOWN: u64 = 20;

/// The most customers a search narrows the orders to.
const CUSTOMER_MATCHES: u64 = 1_000;

pub fn add(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/admin/orders/", get(list))
        .route("/admin/orders/{id}/", get(show))
        .route("/admin/orders/{id}/ship/", post(ship))
        .route("/admin/orders/{id}/deliver/", post(deliver))
        .route("/admin/orders/{id}/cancel/", post(cancel))
        .route("/admin/orders/{id}/invoice/", get(invoice_pdf))
}

/// The filter of `query`, or the errors of its fields.
fn filter_of(state: &AppState, query: &OrderQuery) -> Result<OrderFilter, FormErrors> {
    let mut errors = FormErrors::none();
    let mut filter = OrderFilter::default();
    let choice = "Select a valid choice.";
    if !query.status.is_empty() {
        filter.status = OrderStatus::parse(&query.status);
        if filter.status.is_none() {
            errors.fields.insert("status".into(), vec![choice.into()]);
        }
    }
    if !query.payment_status.is_empty() {
        filter.payment_status = PaymentStatus::parse(&query.payment_status);
        if filter.payment_status.is_none() {
            errors
                .fields
                .insert("payment_status".into(), vec![choice.into()]);
        }
    }
    let tz = state.settings.time_zone;
    for (name, text, after) in [("from", &query.from, false), ("to", &query.to, true)] {
        if text.is_empty() {
            continue;
        }
        match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => {
                let day = if after {
                    date.succ_opt().unwrap_or(date)
                } else {
                    date
                };
                let at = Some(start_of(tz, day));
                if after {
                    filter.placed_before = at;
                } else {
                    filter.placed_from = at;
                }
            }
            Err(_) => {
                errors
                    .fields
                    .insert(name.into(), vec!["Enter a date as YYYY-MM-DD.".into()]);
            }
        }
    }
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(errors)
    }
}

async fn list(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Query(query): Query<OrderQuery>,
) -> Response {
    let layout = super::layout(&state, &staff, "orders");
    let page_number = page_number(query.page.as_deref());
    let mut filter = match filter_of(&state, &query) {
        Ok(filter) => filter,
        Err(errors) => {
            let pager = Pager::new("/admin/orders/", &query.pairs(), 1, 0);
            let page = OrdersPage {
                layout,
                query,
                rows: Vec::new(),
                pager,
                errors,
            };
            return page::render_with(StatusCode::BAD_REQUEST, &page);
        }
    };
    let found = async {
        let q = query.q.trim();
        if !q.is_empty() {
            filter.user_ids = Some(accounts::users_matching(&state.db, q, CUSTOMER_MATCHES).await?);
        }
        let (count, found) =
            orders::search(&state.db, &filter, offset(page_number), PAGE_SIZE).await?;
        let ids: Vec<i64> = found.iter().map(|o| o.user_id).collect();
        let emails = accounts::emails_of(&state.db, &ids).await?;
        Ok::<_, sea_orm::DbErr>((count, found, emails))
    };
    let (count, found, emails) = match found.await {
        Ok(found) => found,
        Err(e) => return Refusal::from(e).page(),
    };
    let rows = order_rows(&state, found, &emails);
    let pager = Pager::new("/admin/orders/", &query.pairs(), page_number, count);
    page::render(&OrdersPage {
        layout,
        query,
        rows,
        pager,
        errors: FormErrors::none(),
    })
}

/// The list's rows of `found`, each with its customer's email.
pub fn order_rows(
    state: &AppState,
    found: Vec<crate::orders::order::Model>,
    emails: &std::collections::HashMap<i64, String>,
) -> Vec<OrderRow> {
    let tz = state.settings.time_zone;
    found
        .into_iter()
        .map(|o| {
            let currency = Currency::from_code(&o.currency).unwrap_or(state.settings.currency);
            OrderRow {
                short_id: o.id.chars().take(8).collect(),
                placed: shop_time(o.created_at, tz),
                customer: emails.get(&o.user_id).cloned().unwrap_or_default(),
                status: o.status.as_str(),
                payment_status: o.payment_status.as_str(),
                total: Money::from_minor(o.total_amount).format(currency),
                currency: o.currency,
                id: o.id,
            }
        })
        .collect()
}

/// What an action's result says on the order's page (`?done=`).
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "shipped" => Some("Marked shipped; the customer is being emailed the tracking number."),
        "delivered" => Some("Marked delivered."),
        "cancelled" => Some("Cancelled: the stock is back, and a paid order is being refunded."),
        _ => None,
    }
}

#[derive(serde::Deserialize)]
struct Done {
    done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let mut page = match order_page(&state, &staff, &id).await {
        Ok(page) => page,
        Err(refusal) => return refusal.page(),
    };
    page.notice = notice(done.done.as_deref());
    page::render(&page)
}

/// The order's page, with nothing typed into its forms.
async fn order_page(state: &AppState, staff: &Session, id: &str) -> Result<OrderPage, Refusal> {
    let db = &state.db;
    let (order, items) = orders::order_with_lines(db, id)
        .await?
        .ok_or(Refusal::NotFound)?;
    let tz = state.settings.time_zone;
    let currency = Currency::from_code(&order.currency).unwrap_or(state.settings.currency);
    let money = |minor: i64| {
        format!(
            "{} {}",
            Money::from_minor(minor).format(currency),
            currency.code()
        )
    };
    let variant_ids: Vec<i64> = items.iter().filter_map(|i| i.variant_id).collect();
    let movements = inventory::movements_of_order(db, &variant_ids, id).await?;
    let payment = payments::of_order(db, id)
        .await?
        .map(|(p, refunds)| PaymentFacts {
            provider: p.provider,
            reference: p.provider_ref,
            status: p.status,
            amount: money(p.amount),
            refunds: refunds
                .into_iter()
                .map(|r| {
                    (
                        shop_time(r.created_at, tz),
                        money(r.amount),
                        format!("{:?}", r.kind),
                    )
                })
                .collect(),
        });
    let customer = accounts::email_of(db, order.user_id)
        .await?
        .unwrap_or_default();
    let emails = crate::email::job::mentioning(db, id, order.created_at, EMAILS_SHOWN)
        .await?
        .into_iter()
        .map(|e| email_row(e, tz))
        .collect();
    let status = order.status;
    let may = |to| OrderStatus::sources(to, Actor::Staff).contains(&status);
    let view = OrderView::new(order.clone(), items);
    let address = address_lines(&view.shipping_address);
    let lines = line_rows(&view);
    Ok(OrderPage {
        layout: super::layout(state, staff, "orders"),
        lines,
        placed: shop_time(order.created_at, tz),
        shipped: order.shipped_at.map(|at| shop_time(at, tz)),
        delivered: order.delivered_at.map(|at| shop_time(at, tz)),
        customer,
        customer_id: order.user_id,
        address,
        payment,
        movements: movements
            .into_iter()
            .map(|m| MovementRow {
                at: shop_time(m.created_at, tz),
                variant_id: m.variant_id,
                delta: m.delta,
                stock_after: m.stock_after,
                reason: m.reason,
            })
            .collect(),
        emails,
        can_ship: may(OrderStatus::Shipped),
        can_deliver: may(OrderStatus::Delivered),
        can_cancel: may(OrderStatus::Cancelled),
        has_invoice: matches!(order.payment_status, PaymentStatus::Paid)
            || order.shipped_at.is_some(),
        carrier: String::new(),
        tracking_number: String::new(),
        errors: FormErrors::none(),
        notice: None,
        order: view,
    })
}

/// The lines of an order as its page lists them, their options written out.
fn line_rows(view: &OrderView) -> Vec<LineRow> {
    view.items
        .iter()
        .map(|item| LineRow {
            name: item.product_name.clone(),
            sku: item.sku.clone().unwrap_or_default(),
            options: item
                .variant_options
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", "),
            price: item.price_snapshot.clone(),
            quantity: item.quantity,
            subtotal: item.subtotal.clone(),
        })
        .collect()
}

/// An email about an order, and whether it went.
fn email_row(e: crate::email::job::Queued, tz: chrono_tz::Tz) -> EmailRow {
    EmailRow {
        to: e.to,
        subject: e.subject,
        state: match e.state {
            JobState::Done => "sent",
            JobState::Dead => "failed for good",
            JobState::Failed => "failed, will try again",
            _ => "waiting",
        },
        at: shop_time(e.sent_at.unwrap_or(e.queued_at), tz),
    }
}

/// After an action: back to the order's page saying what happened, or the page again with
/// the refusal (beside its fields when it is theirs).
async fn after(
    state: &AppState,
    form: &StaffForm,
    id: &str,
    outcome: Result<(), ApiError>,
    done: &str,
) -> Response {
    let error = match outcome {
        Ok(()) => return page::see_other(&format!("/admin/orders/{id}/?done={done}")),
        Err(error) => error,
    };
    let (status, errors) = FormErrors::of(error);
    match order_page(state, &form.staff, id).await {
        Ok(mut page) => {
            page.carrier = form.get("carrier").unwrap_or("").to_owned();
            page.tracking_number = form.get("tracking_number").unwrap_or("").to_owned();
            page.errors = errors;
            page::render_with(status, &page)
        }
        Err(refusal) => refusal.page(),
    }
}

async fn move_on(
    state: &AppState,
    form: &StaffForm,
    id: &str,
    to: OrderStatus,
) -> Result<(), ApiError> {
    let mut object = form.object(&["carrier", "tracking_number"]);
    object.insert("status".to_owned(), to.as_str().into());
    let change: StatusChange = read(object, state.settings.currency)?;
    lifecycle::change_status(&state.db, &state.settings.shop_name, id, change).await?;
    Ok(())
}

async fn ship(State(state): State<AppState>, Path(id): Path<String>, form: StaffForm) -> Response {
    let outcome = move_on(&state, &form, &id, OrderStatus::Shipped).await;
    after(&state, &form, &id, outcome, "shipped").await
}

async fn deliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: StaffForm,
) -> Response {
    let outcome = move_on(&state, &form, &id, OrderStatus::Delivered).await;
    after(&state, &form, &id, outcome, "delivered").await
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: StaffForm,
) -> Response {
    let who = Canceller::Staff(form.staff.user.id);
    let outcome = lifecycle::cancel(&state.db, &state.cache, &id, who)
        .await
        .map(|_| ());
    after(&state, &form, &id, outcome, "cancelled").await
}

async fn invoice_pdf(
    State(state): State<AppState>,
    Staff(_): Staff,
    Path(id): Path<String>,
) -> Response {
    let pdf = async {
        let Some((order, _)) = orders::order_with_lines(&state.db, &id).await? else {
            return Ok(None);
        };
        invoice::invoice(&state.db, Issuer::of(&state.settings), &order).await
    };
    match pdf.await {
        Ok(Some(pdf)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"invoice-{id}.pdf\""),
                ),
            ],
            pdf,
        )
            .into_response(),
        Ok(None) => Refusal::NotFound.page(),
        Err(e) => Refusal::from(e).page(),
    }
}
