//! Checkout: the user's cart becomes an order in one transaction — the cart locked, the lines
//! priced from the catalog and copied, the stock taken through the inventory (every short line
//! reported, nothing changed), the coupon redeemed, the shipping address copied, the cart
//! emptied, the expiry (and any stock alert) queued, and the answer stored under the request's
//! `Idempotency-Key` — at most 15 statements whatever the cart holds.

use sea_orm::{DatabaseConnection, DatabaseTransaction, Set};
use serde_json::{Map, json};

use super::alerts;
use super::lifecycle::{EXPIRE_JOB, PaymentStatus, Status, expire_payload};
use super::views::{AddressChoice, CreateOrder, OrderView, ShippingAddress};
use super::{order, order_item, store};
use crate::accounts::store as accounts;
use crate::cache::ResponseCache;
use crate::cart::store as carts;
use crate::catalog::inventory::{self, Cause, Shortage, StockError, StockLine};
use crate::coupons::rules::Refusal;
use crate::coupons::views::is_code;
use crate::coupons::{coupon, service as coupons, store as coupon_store};
use crate::http::error::{ApiError, field_error};
use crate::idempotency::{self, Keyed, Stored};
use crate::jobs::queue::{self, NewJob};
use crate::money::{Currency, Money};
use crate::settings::OrderSettings;
use crate::{db, time};

/// The scope of order creation's idempotency keys.
pub const CREATE_SCOPE: &str = "orders.create";

/// What a checkout needs besides the request.
#[derive(Clone, Copy)]
pub struct Checkout<'a> {
    pub db: &'a DatabaseConnection,
    pub cache: &'a ResponseCache,
    pub rules: &'a OrderSettings,
    pub currency: Currency,
}

/// What the client gets.
#[derive(Debug)]
pub enum Placed {
    /// A new order: its view, as JSON.
    Created(String),
    /// The first answer to a request with this `Idempotency-Key`.
    Replayed(Stored),
}

/// Places the user's cart as an order. With `keyed`, a retry answers the first response and a
/// failure first looks for one (the first request may have emptied the cart).
pub async fn place_order(
    checkout: Checkout<'_>,
    user_id: i64,
    request: &CreateOrder,
    keyed: Option<&Keyed>,
) -> Result<Placed, ApiError> {
    match place(checkout, user_id, request, keyed).await {
        Ok(body) => Ok(Placed::Created(body)),
        Err(error) => {
            if let Some(keyed) = keyed
                && let Some(stored) = idempotency::find(checkout.db, keyed).await?
            {
                return Ok(Placed::Replayed(stored));
            }
            Err(error)
        }
    }
}

fn empty_cart() -> ApiError {
    ApiError::BadRequest("Your cart is empty.".to_owned())
}

/// 409 with every line that cannot be had.
fn short(lines: &[Shortage]) -> ApiError {
    let items: Vec<_> = lines
        .iter()
        .map(|s| json!({"product_id": s.product_id, "requested": s.requested, "available": s.available}))
        .collect();
    let mut extra = Map::new();
    extra.insert("items".to_owned(), json!(items));
    ApiError::Conflict {
        detail: "Some products do not have enough stock; nothing was ordered.".to_owned(),
        extra,
    }
}

/// The address the order goes to, copied.
async fn shipping_address(
    tx: &DatabaseTransaction,
    user_id: i64,
    choice: AddressChoice,
) -> Result<ShippingAddress, ApiError> {
    match choice {
        AddressChoice::Given(address) => Ok(address),
        AddressChoice::Saved(id) => accounts::address(tx, user_id, id)
            .await?
            .map(ShippingAddress::from)
            .ok_or_else(|| {
                field_error(
                    "shipping_address_id",
                    format!("Invalid pk \"{id}\" - object does not exist."),
                )
            }),
        AddressChoice::Default => accounts::default_address(tx, user_id)
            .await?
            .map(ShippingAddress::from)
            .ok_or_else(|| {
                field_error(
                    "shipping_address",
                    "Give shipping_address or shipping_address_id: you have no default address.",
                )
            }),
    }
}

async fn place(
    checkout: Checkout<'_>,
    user_id: i64,
    request: &CreateOrder,
    keyed: Option<&Keyed>,
) -> Result<String, ApiError> {
    let Checkout {
        db,
        cache,
        rules,
        currency,
    } = checkout;
    let unknown_coupon = || field_error("coupon_code", Refusal::Unknown.message(currency));
    if request
        .coupon_code
        .as_deref()
        .is_some_and(|code| !is_code(code.trim()))
    {
        return Err(unknown_coupon());
    }

    let tx = db::begin_write(db).await?;
    let cart = carts::locked_cart(&tx, user_id)
        .await?
        .ok_or_else(empty_cart)?;
    let rows = carts::lines(&tx, cart.id).await?;
    if rows.is_empty() {
        return Err(empty_cart());
    }
    // Lines that cannot be had as the catalog stands: all of them, before any lock is taken.
    let unavailable: Vec<Shortage> = rows
        .iter()
        .filter(|(item, product)| !product.is_active || item.quantity > product.stock)
        .map(|(item, product)| Shortage {
            product_id: product.id,
            requested: item.quantity,
            available: if product.is_active { product.stock } else { 0 },
        })
        .collect();
    if !unavailable.is_empty() {
        return Err(short(&unavailable));
    }
    let address = shipping_address(&tx, user_id, request.address()).await?;

    let order_id = uuid::Uuid::new_v4().to_string();
    let stock_lines: Vec<StockLine> = rows
        .iter()
        .map(|(item, product)| StockLine {
            product_id: product.id,
            delta: -item.quantity,
        })
        .collect();
    let taken: Vec<(i64, i64)> = rows
        .iter()
        .map(|(item, product)| (product.id, item.quantity))
        .collect();
    let requested = |product_id: i64| {
        taken
            .iter()
            .filter(|(id, _)| *id == product_id)
            .map(|(_, q)| *q)
            .sum::<i64>()
    };
    let cause = Cause {
        reason: "order".to_owned(),
        reference: format!("order:{order_id}"),
        idempotency_key: None,
    };
    let (applied, change) = match inventory::apply(&tx, &stock_lines, &cause).await {
        Ok(done) => done,
        Err(StockError::Short(lines)) => return Err(short(&lines)),
        Err(StockError::NoProduct(product_id)) => {
            return Err(short(&[Shortage {
                product_id,
                requested: requested(product_id),
                available: 0,
            }]));
        }
        Err(StockError::Database(e)) => return Err(e.into()),
    };
    // Prices and activity as read under the products' row locks: an edit that committed while
    // this order waited for them is what the order sees.
    let retired: Vec<Shortage> = applied
        .iter()
        .filter(|a| !a.is_active)
        .map(|a| Shortage {
            product_id: a.product_id,
            requested: requested(a.product_id),
            available: 0,
        })
        .collect();
    if !retired.is_empty() {
        return Err(short(&retired));
    }
    let mut subtotal: i128 = 0;
    let mut items: Vec<order_item::Model> = Vec::with_capacity(rows.len());
    for (item, product) in &rows {
        let price = applied
            .iter()
            .find(|a| a.product_id == product.id)
            .map_or(product.price, |a| a.price);
        subtotal += i128::from(price) * i128::from(item.quantity);
        items.push(order_item::Model {
            id: 0,
            order_id: order_id.clone(),
            product_id: Some(product.id),
            product_name: product.name.clone(),
            price_snapshot: price,
            quantity: item.quantity,
            subtotal: price.saturating_mul(item.quantity),
        });
    }
    let subtotal = i64::try_from(subtotal)
        .map(Money::from_minor)
        .map_err(|_| ApiError::BadRequest("The order's amount is too large.".to_owned()))?;

    // The coupon: the one named, else the cart's if it still applies (as the cart shows it),
    // read under its row lock as it is now. Redeemed after the stock, so that lock — which every
    // order using the coupon needs — is not held while this order waits for its products.
    let candidate: Option<coupon::Model> = match (&request.coupon_code, cart.coupon_id) {
        (Some(code), _) => Some(
            coupon_store::locked(&tx, None, Some(code.trim()))
                .await?
                .ok_or_else(unknown_coupon)?,
        ),
        (None, Some(id)) => coupon_store::locked(&tx, Some(id), None).await?,
        (None, None) => None,
    };
    let now = time::now();
    let mut used: Option<coupon::Model> = None;
    let mut discount = Money::ZERO;
    if let Some(candidate) = candidate {
        match coupons::redeem(&tx, &candidate, user_id, subtotal, now).await? {
            Ok(redeemed) => {
                discount = redeemed.discount;
                used = Some(redeemed.coupon);
            }
            Err(refusal) if request.coupon_code.is_some() => {
                return Err(field_error("coupon_code", refusal.message(currency)));
            }
            Err(_) => {}
        }
    }

    let row = order::Model {
        id: order_id.clone(),
        user_id,
        status: Status::Pending.as_str().to_owned(),
        payment_status: PaymentStatus::Unpaid.as_str().to_owned(),
        subtotal: subtotal.minor(),
        discount: discount.minor(),
        total_amount: subtotal.minor() - discount.minor(),
        currency: currency.code().to_owned(),
        coupon: used.as_ref().map(|c| c.code.clone()),
        coupon_id: used.as_ref().map(|c| c.id),
        shipping_address: serde_json::to_string(&address).map_err(crate::http::error::internal)?,
        created_at: now,
        updated_at: now,
    };
    store::insert_order(&tx, active(&row)).await?;
    store::insert_items(&tx, items.iter().map(store::new_item).collect()).await?;
    carts::delete_cart(&tx, cart.id).await?;

    let mut jobs = vec![NewJob {
        run_at: Some(now + chrono::Duration::from_std(rules.payment_timeout).unwrap_or_default()),
        ..NewJob::new(EXPIRE_JOB, expire_payload(&order_id))
    }];
    jobs.extend(alerts::crossing(
        &applied,
        &taken,
        rules.low_stock_threshold,
    ));
    queue::enqueue_many(&tx, jobs).await?;

    let body =
        serde_json::to_string(&OrderView::new(row, items)).map_err(crate::http::error::internal)?;
    if let Some(keyed) = keyed {
        // A parallel request with the same key committed first: this one rolls back whole and
        // answers that one's response.
        idempotency::save(&tx, keyed, 201, &body).await?;
    }
    cache.commit(tx, change).await?;
    Ok(body)
}

fn active(row: &order::Model) -> order::ActiveModel {
    order::ActiveModel {
        id: Set(row.id.clone()),
        user_id: Set(row.user_id),
        status: Set(row.status.clone()),
        payment_status: Set(row.payment_status.clone()),
        subtotal: Set(row.subtotal),
        discount: Set(row.discount),
        total_amount: Set(row.total_amount),
        currency: Set(row.currency.clone()),
        coupon: Set(row.coupon.clone()),
        coupon_id: Set(row.coupon_id),
        shipping_address: Set(row.shipping_address.clone()),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    }
}
