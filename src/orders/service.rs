//! Checkout: the user's cart becomes an order in one transaction — the cart locked, the lines
//! priced from the catalog and copied, the stock taken through the inventory (every short line
//! reported, nothing changed), the coupon redeemed, the shipping address copied, the cart
//! emptied, the expiry (and any stock alert) queued, and the answer stored under the request's
//! `Idempotency-Key` — at most 18 statements whatever the cart holds (the shipping and tax
//! rules come from the cache while staff have not changed them). An order with nothing to
//! pay (a coupon as large as the cart) is placed `PAID`/`PAID`, its invoice and confirmation
//! queued instead of its expiry: the same statements, no provider asked.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::invoice::MakeInvoice;
use super::lifecycle::ExpireOrder;
use super::refusals::{changed_cart, empty_cart, short, unknown_coupon};
use super::status::{OrderStatus, PaymentStatus};
use super::views::{AddressChoice, CreateOrder, OrderView, ShippingAddress};
use super::{alerts, charges};
use super::{order, order_item, store};
use crate::accounts::postal;
use crate::cache::{Change, ResponseCache};
use crate::cart::service::{self as carts, CartLine, CheckoutCart, TaxRules};
use crate::catalog::inventory::{self, Applied, Cause, Shortage, StockError, StockLine};
use crate::coupons::views::is_code;
use crate::coupons::{coupon, service as coupons};
use crate::events::kind::EventType;
use crate::events::service::{self as events, NewEvent, Resource};
use crate::http::error::{ApiError, field_error};
use crate::idempotency::{self, Keyed, Stored};
use crate::jobs::queue::{self, NewJob};
use crate::money::{Currency, Money};
use crate::settings::{OrderSettings, TaxSettings};
use crate::{db, time};

/// The scope of order creation's idempotency keys.
pub const CREATE_SCOPE: &str = "orders.create";

/// What a checkout needs besides the request.
#[derive(Clone, Copy)]
pub struct Checkout<'a> {
    pub db: &'a DatabaseConnection,
    pub cache: &'a ResponseCache,
    pub rules: &'a OrderSettings,
    pub tax: &'a TaxSettings,
    pub currency: Currency,
    /// When the request arrived: the cart is ordered as it was then (see [`take_cart`]).
    pub asked_at: DateTime<Utc>,
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

/// The address the order goes to, copied: the request's, else the cart's chosen one, else the
/// user's default.
async fn shipping_address(
    tx: &DatabaseTransaction,
    user_id: i64,
    choice: AddressChoice,
    cart: &CheckoutCart,
) -> Result<ShippingAddress, ApiError> {
    if let (AddressChoice::Default, Some(address)) = (&choice, &cart.shipping_address) {
        return Ok(address.clone());
    }
    postal::chosen(
        tx,
        user_id,
        choice,
        "shipping_address_id",
        "shipping_address",
    )
    .await
}

/// A checkout, step by step, in one transaction.
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
        tax,
        currency,
        asked_at,
    } = checkout;
    check_coupon_code(request, currency)?;
    // Read committed on MariaDB too: the stock events read their variants' last sequence
    // under the variants' locks (see `events::service`).
    let tx = db::begin_write_committed(db).await?;
    let cart = take_cart(&tx, user_id, asked_at).await?;
    let address = shipping_address(&tx, user_id, request.address(), &cart).await?;
    let order_id = uuid::Uuid::new_v4().to_string();
    let stock = take_stock(&tx, &order_id, &cart.lines).await?;
    let (mut items, subtotal) = copy_lines(&order_id, &cart.lines, &stock.applied)?;
    let now = time::now();
    let (used, discount) =
        redeem_coupon(&tx, request, &cart, user_id, subtotal, currency, now).await?;
    let method_id = request.shipping_method_id.or(cart.shipping_method_id);
    let quote = charges::charge(
        (&tx, cache),
        TaxRules::of(tax),
        &cart.lines,
        &mut items,
        discount.minor(),
        (&address, method_id),
    )
    .await?;
    let priced = &quote.priced;
    let total = priced.total;
    // Nothing to pay (a coupon as large as the cart): paid as placed, no provider asked.
    let free = total == 0;
    let (status, payment_status) = if free {
        (OrderStatus::Paid, PaymentStatus::Paid)
    } else {
        (OrderStatus::Pending, PaymentStatus::Unpaid)
    };
    let row = order::Model {
        id: order_id.clone(),
        user_id,
        status,
        payment_status,
        subtotal: priced.subtotal,
        discount: priced.discount,
        total_amount: total,
        currency: currency.code().to_owned(),
        coupon: used.as_ref().map(|c| c.code.clone()),
        coupon_id: used.as_ref().map(|c| c.id),
        shipping_address: serde_json::to_string(&address).map_err(crate::http::error::internal)?,
        shipping_amount: priced.shipping.unwrap_or(0),
        tax_amount: priced.tax.unwrap_or(0),
        tax_lines: Some(charges::store_tax_lines(&priced.tax_lines)),
        prices_include_tax: quote.prices_include_tax,
        shipping_method_name: quote.shipping.as_ref().map(|s| s.method.name.clone()),
        carrier: None,
        tracking_number: None,
        shipped_at: None,
        delivered_at: None,
        created_at: now,
        updated_at: now,
    };
    store::insert_order(&tx, &row).await?;
    store::insert_items(&tx, items.iter().map(store::new_item).collect()).await?;
    carts::empty(&tx, cart.id, now).await?;
    queue_follow_ups(&tx, &order_id, rules, &stock, free, now).await?;

    let view = OrderView::new(row, items);
    let body = serde_json::to_string(&view).map_err(crate::http::error::internal)?;
    let events = placed_events(&view, free, &cart.lines, &stock, rules, currency)?;
    events::record(&tx, events, now).await?;
    if let Some(keyed) = keyed {
        // A parallel request with the same key committed first: this one rolls back whole and
        // answers that one's response.
        idempotency::save(&tx, keyed, 201, &body).await?;
    }
    cache.commit(tx, stock.change).await?;
    Ok(body)
}

/// A new order's events: `order.created` (and `order.paid` when it was paid as placed), and
/// `stock.low` / `stock.out` for each variant it took low.
fn placed_events(
    view: &OrderView,
    free: bool,
    lines: &[CartLine],
    stock: &Taken,
    rules: &OrderSettings,
    currency: Currency,
) -> Result<Vec<NewEvent>, ApiError> {
    let order = || Resource::Order(view.id.clone());
    let mut events = vec![NewEvent::of(EventType::OrderCreated, order(), view)?.about_new()];
    if free {
        // Paid as placed: integrators that fulfil on `order.paid` hear of it too.
        events.push(NewEvent::of(EventType::OrderPaid, order(), view)?.about_new());
    }
    let variants: Vec<_> = lines.iter().map(|line| &line.variant).collect();
    events.extend(inventory::stock_events(
        &stock.applied,
        &variants,
        &stock.units,
        rules.low_stock_threshold,
        currency,
    )?);
    Ok(events)
}

/// A code that cannot be a coupon's is refused before anything is read.
fn check_coupon_code(request: &CreateOrder, currency: Currency) -> Result<(), ApiError> {
    if request
        .coupon_code
        .as_deref()
        .is_some_and(|code| !is_code(code.trim()))
    {
        return Err(unknown_coupon(currency));
    }
    Ok(())
}

/// The user's cart, locked, with lines — every line that cannot be had as the catalog stands
/// reported at once (409), before any product's lock is taken. A cart changed after the
/// request arrived (`asked_at`) is refused: a checkout that waited — for a connection, or
/// behind the same user's add — orders the cart the customer asked for, never a line added
/// after it (that line stays in the cart).
async fn take_cart(
    tx: &DatabaseTransaction,
    user_id: i64,
    asked_at: DateTime<Utc>,
) -> Result<CheckoutCart, ApiError> {
    let cart = carts::lock_for_checkout(tx, user_id)
        .await?
        .ok_or_else(empty_cart)?;
    if cart.lines.is_empty() {
        return Err(empty_cart());
    }
    if cart.updated_at > asked_at {
        return Err(changed_cart());
    }
    let unavailable: Vec<Shortage> = cart
        .lines
        .iter()
        .filter(|line| !sellable(line) || line.item.quantity > line.variant.stock)
        .map(|line| Shortage {
            product_id: line.product.id,
            variant_id: line.variant.id,
            requested: line.item.quantity,
            available: if sellable(line) {
                line.variant.stock
            } else {
                0
            },
        })
        .collect();
    if !unavailable.is_empty() {
        return Err(short(&unavailable));
    }
    Ok(cart)
}

/// Whether a cart line's product and variant are both for sale.
fn sellable(line: &CartLine) -> bool {
    line.product.is_active && line.variant.is_active
}

/// The stock an order took: what the inventory applied, the cache change to commit, and the
/// units per variant.
struct Taken {
    applied: Vec<Applied>,
    change: Change,
    units: Vec<(i64, i64)>,
}

impl Taken {
    fn requested(&self, variant_id: i64) -> i64 {
        requested(&self.units, variant_id)
    }
}

fn requested(units: &[(i64, i64)], variant_id: i64) -> i64 {
    units
        .iter()
        .filter(|(id, _)| *id == variant_id)
        .map(|(_, q)| *q)
        .sum()
}

/// Takes every line's units through the inventory (one movement each, under the products' and
/// variants' row locks); a variant short, gone or deactivated meanwhile → 409 naming it,
/// nothing taken.
async fn take_stock(
    tx: &DatabaseTransaction,
    order_id: &str,
    lines: &[CartLine],
) -> Result<Taken, ApiError> {
    let stock_lines: Vec<StockLine> = lines
        .iter()
        .map(|line| StockLine {
            product_id: line.product.id,
            variant_id: line.variant.id,
            delta: -line.item.quantity,
        })
        .collect();
    let units: Vec<(i64, i64)> = lines
        .iter()
        .map(|line| (line.variant.id, line.item.quantity))
        .collect();
    let cause = Cause {
        reason: "order".to_owned(),
        reference: format!("order:{order_id}"),
        idempotency_key: None,
    };
    let (applied, change) = match inventory::apply(tx, &stock_lines, &cause).await {
        Ok(done) => done,
        Err(StockError::Short(lines)) => return Err(short(&lines)),
        Err(StockError::NoVariant {
            product_id,
            variant_id,
        }) => {
            return Err(short(&[Shortage {
                product_id,
                variant_id,
                requested: requested(&units, variant_id),
                available: 0,
            }]));
        }
        Err(StockError::Database(e)) => return Err(e.into()),
    };
    let taken = Taken {
        applied,
        change,
        units,
    };
    // Activity as read under the products' row locks: a product deactivated while this order
    // waited for it is not sold.
    let retired: Vec<Shortage> = taken
        .applied
        .iter()
        .filter(|a| !a.is_active)
        .map(|a| Shortage {
            product_id: a.product_id,
            variant_id: a.variant_id,
            requested: taken.requested(a.variant_id),
            available: 0,
        })
        .collect();
    if !retired.is_empty() {
        return Err(short(&retired));
    }
    Ok(taken)
}

/// The order's lines, copied with the prices, SKUs and options read under the variants' row
/// locks (an edit that committed while this order waited is what it sees), and their subtotal.
fn copy_lines(
    order_id: &str,
    lines: &[CartLine],
    applied: &[Applied],
) -> Result<(Vec<order_item::Model>, Money), ApiError> {
    let mut subtotal: i128 = 0;
    let mut items: Vec<order_item::Model> = Vec::with_capacity(lines.len());
    for CartLine {
        item,
        product,
        variant,
    } in lines
    {
        let locked = applied.iter().find(|a| a.variant_id == variant.id);
        let price = locked.map_or(variant.price, |a| a.price);
        subtotal += i128::from(price) * i128::from(item.quantity);
        items.push(order_item::Model {
            id: 0,
            order_id: order_id.to_owned(),
            product_id: Some(product.id),
            product_name: product.name.clone(),
            variant_id: Some(variant.id),
            sku: Some(locked.map_or_else(|| variant.sku.clone(), |a| a.sku.clone())),
            variant_options: Some(locked.map_or_else(
                || variant.options.clone().unwrap_or_else(|| "{}".to_owned()),
                |a| a.options.clone(),
            )),
            price_snapshot: price,
            quantity: item.quantity,
            subtotal: price.saturating_mul(item.quantity),
            tax_rate: 0,
            tax_amount: 0,
        });
    }
    let subtotal = i64::try_from(subtotal)
        .map(Money::from_minor)
        .map_err(|_| ApiError::BadRequest("The order's amount is too large.".to_owned()))?;
    Ok((items, subtotal))
}

/// The coupon: the one named, else the cart's if it still applies (as the cart shows it), read
/// under its row lock as it is now, and redeemed. After the stock, so that lock — which every
/// order using the coupon needs — is not held while this order waits for its products. A coupon
/// named in the request that does not apply → 400; the cart's that no longer does is dropped.
async fn redeem_coupon(
    tx: &DatabaseTransaction,
    request: &CreateOrder,
    cart: &CheckoutCart,
    user_id: i64,
    subtotal: Money,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<(Option<coupon::Model>, Money), ApiError> {
    let candidate: Option<coupon::Model> = match (&request.coupon_code, cart.coupon_id) {
        (Some(code), _) => Some(
            coupons::locked(tx, None, Some(code.trim()))
                .await?
                .ok_or_else(|| unknown_coupon(currency))?,
        ),
        (None, Some(id)) => coupons::locked(tx, Some(id), None).await?,
        (None, None) => None,
    };
    let Some(candidate) = candidate else {
        return Ok((None, Money::ZERO));
    };
    match coupons::redeem(tx, &candidate, user_id, subtotal, now).await? {
        Ok(redeemed) => Ok((Some(redeemed.coupon), redeemed.discount)),
        Err(refusal) if request.coupon_code.is_some() => {
            Err(field_error("coupon_code", refusal.message(currency)))
        }
        Err(_) => Ok((None, Money::ZERO)),
    }
}

/// The order's expiry if it stays unpaid — or, for an order paid as placed (`free`: nothing to
/// pay), its invoice and confirmation as for any paid order — and a stock alert if it took a
/// product low: one statement.
async fn queue_follow_ups(
    tx: &DatabaseTransaction,
    order_id: &str,
    rules: &OrderSettings,
    stock: &Taken,
    free: bool,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let order_id = order_id.to_owned();
    let first = if free {
        NewJob::of(&MakeInvoice { order_id })?
    } else {
        let due = now + chrono::Duration::from_std(rules.payment_timeout).unwrap_or_default();
        NewJob::of(&ExpireOrder { order_id })?.at(due)
    };
    let mut jobs = vec![first];
    if let Some(alert) = alerts::crossing(&stock.applied, &stock.units, rules.low_stock_threshold) {
        jobs.push(NewJob::of(&alert)?);
    }
    queue::insert_many(tx, jobs).await?;
    Ok(())
}
