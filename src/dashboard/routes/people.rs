//! Customers (find one; their orders, addresses and reviews; deactivate and reactivate) and
//! reviews (moderation: delete), through the accounts', orders' and reviews' services.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};

use super::orders::order_rows;
use crate::accounts::postal::ShippingAddress;
use crate::accounts::staff as accounts;
use crate::auth::user;
use crate::catalog::lookups;
use crate::dashboard::guard::{Staff, StaffForm};
use crate::dashboard::page::{self, Refusal};
use crate::dashboard::service::Session;
use crate::dashboard::views::forms::FormErrors;
use crate::dashboard::views::orders::{address_lines, shop_time};
use crate::dashboard::views::pager::{PAGE_SIZE, Pager, offset, page_number};
use crate::dashboard::views::people::{
    CustomerPage, CustomerRow, CustomersPage, ReviewRow, ReviewsPage,
};
use crate::http::error::ApiError;
use crate::orders::staff::{self as orders, OrderFilter};
use crate::reviews::{review, service as reviews};
use crate::state::AppState;

/// Orders and reviews a customer's page shows (the rest are a link away).
const ON_PAGE: u64 = 20;

pub fn add(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/admin/customers/", get(list))
        .route("/admin/customers/{id}/", get(show))
        .route("/admin/customers/{id}/deactivate/", post(deactivate))
        .route("/admin/customers/{id}/reactivate/", post(reactivate))
        .route("/admin/reviews/", get(review_list))
        .route("/admin/reviews/{id}/delete/", post(delete_review))
}

fn row(state: &AppState, u: &user::Model) -> CustomerRow {
    CustomerRow {
        id: u.id,
        email: u.email.clone(),
        name: format!("{} {}", u.first_name, u.last_name)
            .trim()
            .to_owned(),
        joined: shop_time(u.date_joined, state.settings.time_zone),
        is_staff: u.is_staff,
        is_active: u.is_active,
    }
}

#[derive(serde::Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
    done: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Query(query): Query<ListQuery>,
) -> Response {
    let number = page_number(query.page.as_deref());
    match accounts::users_page(&state.db, &query.q, offset(number), PAGE_SIZE).await {
        Ok((count, users)) => page::render(&CustomersPage {
            layout: super::layout(&state, &staff, "customers"),
            rows: users.iter().map(|u| row(&state, u)).collect(),
            pager: Pager::new(
                "/admin/customers/",
                &[("q", query.q.as_str())],
                number,
                count,
            ),
            q: query.q,
        }),
        Err(e) => Refusal::from(e).page(),
    }
}

/// Reviews with their products' names and their authors' emails.
async fn review_rows(
    state: &AppState,
    found: Vec<review::Model>,
) -> Result<Vec<ReviewRow>, ApiError> {
    let product_ids: Vec<i64> = found.iter().map(|r| r.product_id).collect();
    let names: HashMap<i64, String> = lookups::products_by_id(&state.db, product_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let author_ids: Vec<i64> = found.iter().map(|r| r.user_id).collect();
    let emails = crate::accounts::service::emails_of(&state.db, &author_ids).await?;
    let tz = state.settings.time_zone;
    Ok(found
        .into_iter()
        .map(|r| ReviewRow {
            id: r.id,
            product_id: r.product_id,
            product: names.get(&r.product_id).cloned().unwrap_or_default(),
            author_id: r.user_id,
            author: emails.get(&r.user_id).cloned().unwrap_or_default(),
            rating: r.rating,
            title: r.title,
            body: r.body,
            at: shop_time(r.created_at, tz),
        })
        .collect())
}

async fn customer_page(
    state: &AppState,
    staff: &Session,
    id: i64,
) -> Result<CustomerPage, Refusal> {
    let customer = accounts::user(&state.db, id).await.map_err(|e| match e {
        ApiError::NotFound(_) => Refusal::NotFound,
        other => Refusal::Api(other),
    })?;
    let filter = OrderFilter {
        user_id: Some(id),
        ..OrderFilter::default()
    };
    let (order_count, found) = orders::search(&state.db, &filter, 0, ON_PAGE).await?;
    let emails = HashMap::from([(id, customer.email.clone())]);
    let addresses = accounts::addresses(&state.db, id, ON_PAGE)
        .await?
        .into_iter()
        .map(|a| address_lines(&ShippingAddress::from(a)))
        .collect();
    let (_, their_reviews) = reviews::staff_page(&state.db, Some(id), 0, ON_PAGE).await?;
    Ok(CustomerPage {
        layout: super::layout(state, staff, "customers"),
        last_login: customer
            .last_login
            .map(|at| shop_time(at, state.settings.time_zone))
            .unwrap_or_else(|| "never".to_owned()),
        customer: row(state, &customer),
        addresses,
        orders: order_rows(state, found, &emails),
        order_count,
        reviews: review_rows(state, their_reviews).await?,
        errors: FormErrors::none(),
        notice: None,
    })
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "deactivated" => Some("Deactivated: signed out everywhere, and cannot sign in."),
        "reactivated" => Some("Reactivated."),
        "deleted" => Some("Review deleted."),
        _ => None,
    }
}

async fn show(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Query(query): Query<ListQuery>,
) -> Response {
    match customer_page(&state, &staff, id).await {
        Ok(mut page) => {
            page.notice = notice(query.done.as_deref());
            page::render(&page)
        }
        Err(refusal) => refusal.page(),
    }
}

async fn set_active(state: AppState, id: i64, form: StaffForm, active: bool) -> Response {
    match accounts::set_active(&state.db, form.staff.user.id, id, active).await {
        Ok(()) => {
            let done = if active { "reactivated" } else { "deactivated" };
            page::see_other(&format!("/admin/customers/{id}/?done={done}"))
        }
        Err(error) => {
            let (status, errors) = FormErrors::of(error);
            match customer_page(&state, &form.staff, id).await {
                Ok(mut page) => {
                    page.errors = errors;
                    page::render_with(status, &page)
                }
                Err(refusal) => refusal.page(),
            }
        }
    }
}

async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    set_active(state, id, form, false).await
}

async fn reactivate(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    set_active(state, id, form, true).await
}

async fn review_list(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Query(query): Query<ListQuery>,
) -> Response {
    let number = page_number(query.page.as_deref());
    let found = async {
        let (count, found) =
            reviews::staff_page(&state.db, None, offset(number), PAGE_SIZE).await?;
        Ok::<_, ApiError>((count, review_rows(&state, found).await?))
    };
    match found.await {
        Ok((count, rows)) => page::render(&ReviewsPage {
            layout: super::layout(&state, &staff, "reviews"),
            rows,
            pager: Pager::new("/admin/reviews/", &[], number, count),
            errors: FormErrors::none(),
            notice: notice(query.done.as_deref()),
        }),
        Err(e) => Refusal::Api(e).page(),
    }
}

async fn delete_review(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    match reviews::delete_review(&state.db, &state.cache, form.staff.user.id, true, id).await {
        // Deleted, or gone already (a second click): the list either way.
        Ok(()) | Err(ApiError::NotFound(_)) => page::see_other("/admin/reviews/?done=deleted"),
        Err(e) => Refusal::Api(e).page(),
    }
}
