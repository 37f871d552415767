//! Thin handlers of `/api/orders/`: extract, call one service function, return a view. Another
//! user's order is "not found" on every endpoint.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::lifecycle::{self, Canceller};
use super::service::{self, CREATE_SCOPE, Checkout, Placed};
use super::status::OrderStatus;
use super::store::{self, OrderFilter};
use super::views::{CreateOrder, OrderView, StatusChange};
use crate::auth::{AuthUser, StaffUser};
use crate::http::ApiResult;
use crate::http::error::{conflict, field_error, not_found};
use crate::http::extract::{Form, IdempotencyKey};
use crate::http::openapi::{ErrorDetail, FileBytes, ShortOfStock, ValidationErrors};
use crate::http::pagination::{Page, Pagination};
use crate::idempotency::Keyed;
use crate::state::AppState;

/// An order id from the path: a UUID in its usual hyphenated form (any case), else no such
/// order — one order, one URL.
fn order_id(raw: &str) -> ApiResult<String> {
    if raw.len() != 36 {
        return Err(not_found());
    }
    uuid::Uuid::parse_str(raw)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| not_found())
}

async fn view(state: &AppState, order: super::order::Model) -> ApiResult<OrderView> {
    let items = store::items_of(&state.db, std::slice::from_ref(&order.id))
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    Ok(OrderView::new(order, items))
}

fn json_body(status: StatusCode, body: String) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Place the cart as an order: stock taken, prices and address copied, the coupon redeemed, the
/// cart emptied — all or nothing. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/api/orders/create/", tag = "orders", security(("jwt" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key answers the first response")),
    request_body = CreateOrder,
    responses(
        (status = 201, description = "The order", body = OrderView),
        (status = 400, description = "Empty cart; unknown address; invalid address; a named coupon that does not apply", body = ValidationErrors),
        (status = 409, description = "Some lines are short of stock: `items` lists each; nothing changed", body = ShortOfStock),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorDetail),
    ))]
pub async fn create_order(
    State(state): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    Form(request): Form<CreateOrder>,
) -> ApiResult<Response> {
    let asked_at = crate::time::now();
    let keyed = key.map(|key| Keyed::new(user.id(), CREATE_SCOPE, &key, &request.canonical()));
    let checkout = Checkout {
        tax: &state.settings.tax,
        db: &state.db,
        cache: &state.cache,
        rules: &state.settings.orders,
        currency: state.settings.currency,
        asked_at,
    };
    match service::place_order(checkout, user.id(), &request, keyed.as_ref()).await? {
        Placed::Created(body) => Ok(json_body(StatusCode::CREATED, body)),
        Placed::Replayed(stored) => Ok(stored.into_response()),
    }
}

/// The query of the order list.
#[derive(Debug, Deserialize)]
pub struct OrderQuery {
    status: Option<String>,
    user: Option<String>,
}

/// Orders, newest first: a customer's own; staff see every order and may filter by `user`.
#[utoipa::path(get, path = "/api/orders/", tag = "orders", security(("jwt" = [])),
    params(
        ("status" = Option<OrderStatus>, Query, description = "only orders in this status"),
        ("user" = Option<i64>, Query, description = "staff only: one user's orders"),
        ("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query),
    ),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderView>),
        (status = 400, description = "Unknown status or malformed user", body = ValidationErrors),
    ))]
pub async fn list_orders(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<OrderQuery>,
    pagination: Pagination,
) -> ApiResult<Json<Page<OrderView>>> {
    let mut filter = OrderFilter::default();
    if let Some(name) = query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        filter.status = Some(OrderStatus::parse(name).ok_or_else(|| {
            field_error(
                "status",
                format!("Select a valid choice. {name} is not one of the available choices."),
            )
        })?);
    }
    if user.is_staff() {
        if let Some(text) = query
            .user
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            filter.user_id = Some(
                text.parse()
                    .map_err(|_| field_error("user", "A valid integer is required."))?,
            );
        }
    } else {
        filter.user_id = Some(user.id());
    }
    let (count, orders) =
        store::page(&state.db, &filter, pagination.offset(), pagination.limit()).await?;
    let ids: Vec<String> = orders.iter().map(|o| o.id.clone()).collect();
    let mut items = store::items_of(&state.db, &ids).await?;
    let views = orders
        .into_iter()
        .map(|order| {
            let lines = items.remove(&order.id).unwrap_or_default();
            OrderView::new(order, lines)
        })
        .collect();
    Ok(Json(pagination.page(count, views)?))
}

/// One order: its owner's, or any for staff.
#[utoipa::path(get, path = "/api/orders/{id}/", tag = "orders", security(("jwt" = [])),
    params(("id" = String, Path, description = "a UUID")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "No such order, or another user's", body = ErrorDetail),
    ))]
pub async fn get_order(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderView>> {
    let id = order_id(&id)?;
    let order = lifecycle::visible_order(&state.db, &id, user.id(), user.is_staff()).await?;
    Ok(Json(view(&state, order).await?))
}

/// Cancel an order: its owner while `PENDING`; staff also when `PAID`. The stock and the
/// coupon's use come back.
#[utoipa::path(post, path = "/api/orders/{id}/cancel/", tag = "orders", security(("jwt" = [])),
    params(("id" = String, Path, description = "a UUID")),
    responses(
        (status = 200, description = "The cancelled order", body = OrderView),
        (status = 404, description = "No such order, or another user's", body = ErrorDetail),
        (status = 409, description = "It can no longer be cancelled", body = ErrorDetail),
    ))]
pub async fn cancel_order(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderView>> {
    let id = order_id(&id)?;
    let who = if user.is_staff() {
        Canceller::Staff(user.id())
    } else {
        Canceller::Owner(user.id())
    };
    let order = lifecycle::cancel(&state.db, &state.cache, &id, who).await?;
    Ok(Json(view(&state, order).await?))
}

/// Move a paid order on (staff): `SHIPPED` from `PAID`, `DELIVERED` from `SHIPPED`.
#[utoipa::path(patch, path = "/api/orders/{id}/status/", tag = "orders", security(("jwt" = [])),
    params(("id" = String, Path, description = "a UUID")),
    request_body = StatusChange,
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 400, description = "Unknown status", body = ValidationErrors),
        (status = 403, description = "Not staff", body = ErrorDetail),
        (status = 404, description = "No such order", body = ErrorDetail),
        (status = 409, description = "Not a move the order can make now", body = ErrorDetail),
    ))]
pub async fn change_status(
    State(state): State<AppState>,
    _staff: StaffUser,
    Path(id): Path<String>,
    Form(change): Form<StatusChange>,
) -> ApiResult<Json<OrderView>> {
    let id = order_id(&id)?;
    let order = lifecycle::change_status(&state.db, &state.settings.shop_name, &id, change).await?;
    Ok(Json(view(&state, order).await?))
}

/// The PDF invoice of a paid order (its owner or staff).
#[utoipa::path(get, path = "/api/orders/{id}/invoice/", tag = "orders", security(("jwt" = [])),
    params(("id" = String, Path, description = "a UUID")),
    responses(
        (status = 200, description = "The invoice", content_type = "application/pdf", body = inline(FileBytes)),
        (status = 404, description = "No such order, or another user's", body = ErrorDetail),
        (status = 409, description = "Not paid yet", body = ErrorDetail),
    ))]
pub async fn invoice(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = order_id(&id)?;
    let order = lifecycle::visible_order(&state.db, &id, user.id(), user.is_staff()).await?;
    let pdf = super::invoice::invoice(
        &state.db,
        super::invoice::Issuer::of(&state.settings),
        &order,
    )
    .await?
    .ok_or_else(|| conflict("The order is not paid yet: it has no invoice."))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"invoice-{id}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}
