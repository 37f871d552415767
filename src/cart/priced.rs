//! A cart priced as the app shows it: every line from the catalog as it is now (a line that
//! can no longer be bought is shown as such and left out of the totals), the coupon checked
//! again, and shipping and tax from the cart's chosen address and method ([`quote`]).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};

use super::quote::{self, Quote, TaxRules};
use super::service::{MAX_LINE_AMOUNT, stock_message};
use super::store::{self, CartLine};
use crate::accounts::postal::ShippingAddress;
use crate::cache::ResponseCache;
use crate::catalog::lookups;
use crate::catalog::{product, product_image, variant};
use crate::coupons::rules::Refusal;
use crate::coupons::{coupon, service as coupons};
use crate::http::error::{ApiError, not_found};
use crate::money::{Currency, Money};
use crate::tax::pricing::Line;
use crate::time;

/// A line priced from the catalog as it is now.
#[derive(Debug)]
pub struct PricedLine {
    pub product: product::Model,
    pub variant: variant::Model,
    pub images: Vec<product_image::Model>,
    pub quantity: i64,
    pub unit_price: Money,
    pub subtotal: Money,
    /// Why it cannot be bought as it is (inactive, short of stock), else `None`.
    pub problem: Option<String>,
}

/// A cart priced from the catalog, its coupon checked again.
#[derive(Debug)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    /// Units in the lines that can be bought.
    pub total_items: i64,
    /// Sum of the lines that can be bought.
    pub subtotal: Money,
    /// The code of the coupon that applies now.
    pub coupon: Option<String>,
    /// Why the cart's coupon gives no discount now, if it does not.
    pub coupon_message: Option<String>,
    pub discount: Money,
    /// What the cart comes to: `subtotal − discount + shipping + tax` (tax only when prices
    /// exclude it).
    pub total: Money,
    pub updated_at: DateTime<Utc>,
    /// Shipping and tax, once [`read`] has priced them.
    pub quote: Option<Quote>,
}

/// Prices lines from their variants; each line's product images (primary first) ride along.
/// Lines whose product or variant is inactive, or short of stock, are kept with their problem
/// and left out of the totals.
pub(super) fn price_lines(rows: Vec<(CartLine, Vec<product_image::Model>)>) -> PricedCart {
    let mut lines = Vec::with_capacity(rows.len());
    let (mut total_items, mut subtotal) = (0_i64, 0_i64);
    for (
        CartLine {
            item,
            product,
            variant,
        },
        images,
    ) in rows
    {
        let amount = i128::from(variant.price) * i128::from(item.quantity);
        let problem = if !product.is_active || !variant.is_active {
            Some("This product is no longer available.".to_owned())
        } else if item.quantity > variant.stock {
            Some(stock_message(variant.stock))
        } else if amount > MAX_LINE_AMOUNT {
            Some("This line's amount is too large.".to_owned())
        } else {
            None
        };
        let line_total = i64::try_from(amount.min(MAX_LINE_AMOUNT)).unwrap_or(i64::MAX);
        if problem.is_none() {
            total_items = total_items.saturating_add(item.quantity);
            subtotal = subtotal.saturating_add(line_total);
        }
        lines.push(PricedLine {
            unit_price: Money::from_minor(variant.price),
            variant,
            subtotal: Money::from_minor(line_total),
            product,
            images,
            quantity: item.quantity,
            problem,
        });
    }
    PricedCart {
        lines,
        total_items,
        subtotal: Money::from_minor(subtotal),
        coupon: None,
        coupon_message: None,
        discount: Money::ZERO,
        total: Money::from_minor(subtotal),
        updated_at: time::now(),
        quote: None,
    }
}

/// The user's cart as the app shows it (created on the first read): the cart's own rows from
/// `db` in one query, everything about its products from the catalog's cache.
pub async fn read(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    currency: Currency,
    rules: TaxRules<'_>,
    user_id: i64,
) -> Result<PricedCart, ApiError> {
    let (cart, items) = match store::cart_with_items(db, user_id).await? {
        Some(found) => found,
        None => {
            store::create_cart(db, user_id, time::now()).await?;
            store::cart_with_items(db, user_id)
                .await?
                .ok_or_else(not_found)?
        }
    };
    let ids: Vec<i64> = items.iter().map(|item| item.variant_id).collect();
    let mut found = lookups::for_sale(cache, db, &ids).await?;
    let rows: Vec<(CartLine, Vec<product_image::Model>)> = items
        .into_iter()
        .filter_map(|item| {
            // A product or variant deleted meanwhile took its lines with it.
            let line = found.remove(&item.variant_id)?;
            Some((
                CartLine {
                    product: line.product,
                    variant: line.variant,
                    item,
                },
                line.images,
            ))
        })
        .collect();
    let mut priced = price_lines(rows);
    priced.updated_at = cart.updated_at;
    if let Some(coupon_id) = cart.coupon_id
        && let Some(coupon) = coupon::Entity::find_by_id(coupon_id).one(db).await?
    {
        let now = time::now();
        match coupons::evaluate(db, &coupon, user_id, priced.subtotal, now).await? {
            Ok(discount) => {
                priced.coupon = Some(coupon.code);
                priced.discount = discount;
            }
            Err(refusal) => {
                priced.coupon_message = Some(coupon_message(&coupon, &refusal, currency))
            }
        }
    }
    let address: Option<ShippingAddress> = cart
        .shipping_address
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    let quote = quote::quote(
        cache,
        db,
        rules,
        &pricing_lines(&priced.lines),
        priced.discount.minor(),
        address,
        cart.shipping_method_id,
    )
    .await?;
    priced.total = Money::from_minor(quote.priced.total);
    priced.quote = Some(quote);
    Ok(priced)
}

/// The lines that can be bought, as pricing sees them.
fn pricing_lines(lines: &[PricedLine]) -> Vec<Line> {
    lines
        .iter()
        .filter(|line| line.problem.is_none())
        .map(|line| {
            quote::line(
                &line.product,
                &line.variant,
                line.quantity,
                line.subtotal.minor(),
            )
        })
        .collect()
}

fn coupon_message(coupon: &coupon::Model, refusal: &Refusal, currency: Currency) -> String {
    format!("{}: {}", coupon.code, refusal.message(currency))
}
