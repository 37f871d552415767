//! What an order charges: its lines as copied (prices read under the variants' locks), the
//! coupon's discount, shipping by the method chosen (the request's, else the cart's) to the
//! order's address, and tax at the address's rates — all from the one pricing function through
//! the cart's [`carts::quote`]. A shop with methods refuses an order without a valid one (or to
//! an address no zone covers); a shop with none ships free.

use sea_orm::DatabaseTransaction;
use serde::{Deserialize, Serialize};

use super::order_item;
use super::views::ShippingAddress;
use crate::cache::ResponseCache;
use crate::cart::service::{self as carts, CartLine, Dropped, Quote, TaxRules};
use crate::http::error::{ApiError, field_error};
use crate::shipping::reach;
use crate::tax::pricing::TaxLine;

/// A tax line as an order keeps it: the rate in millionths, the amount in minor units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTaxLine {
    pub name: String,
    pub rate: i64,
    pub amount: i64,
}

impl From<&TaxLine> for StoredTaxLine {
    fn from(line: &TaxLine) -> StoredTaxLine {
        StoredTaxLine {
            name: line.name.clone(),
            rate: line.rate,
            amount: line.amount,
        }
    }
}

/// An order's stored tax lines (none for an order placed before tax was charged).
pub fn tax_lines(stored: Option<&str>) -> Vec<TaxLine> {
    stored
        .and_then(|text| serde_json::from_str::<Vec<StoredTaxLine>>(text).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|l| TaxLine {
            name: l.name,
            rate: l.rate,
            amount: l.amount,
        })
        .collect()
}

/// The stored form of `lines`.
pub fn store_tax_lines(lines: &[TaxLine]) -> String {
    let stored: Vec<StoredTaxLine> = lines.iter().map(StoredTaxLine::from).collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".to_owned())
}

/// Prices the order's `items` (copied from `lines`, in the same order) with `discount`, to
/// `address` by `method_id`, and writes each item's tax rate and amount. Rates, zones and
/// methods come from the cache while staff have not changed them.
pub async fn charge(
    (tx, cache): (&DatabaseTransaction, &ResponseCache),
    rules: TaxRules<'_>,
    lines: &[CartLine],
    items: &mut [order_item::Model],
    discount: i64,
    (address, method_id): (&ShippingAddress, Option<i64>),
) -> Result<Quote, ApiError> {
    let pricing_lines: Vec<_> = lines
        .iter()
        .zip(items.iter())
        .map(|(line, item)| {
            carts::pricing_line(&line.product, &line.variant, item.quantity, item.subtotal)
        })
        .collect();
    let quote = carts::quote(
        cache,
        tx,
        rules,
        &pricing_lines,
        discount,
        Some(address.clone()),
        method_id,
    )
    .await?;
    check_shipping((tx, cache), &quote, method_id).await?;
    for (item, taxed) in items.iter_mut().zip(&quote.priced.lines) {
        item.tax_rate = taxed.rate;
        item.tax_amount = taxed.tax;
    }
    Ok(quote)
}

/// A shop with active methods ships only with one that applies: an address no zone covers →
/// 400 on `shipping_address`; no method, or one that does not apply → 400 on
/// `shipping_method_id`. A shop without methods ships free (and a method named that does not
/// apply is still refused).
async fn check_shipping(
    (tx, cache): (&DatabaseTransaction, &ResponseCache),
    quote: &Quote,
    method_id: Option<i64>,
) -> Result<(), ApiError> {
    if quote.shipping.is_some() {
        return Ok(());
    }
    if method_id.is_none() && !reach::ships_with_methods(cache, tx).await? {
        return Ok(());
    }
    let covered = match method_id {
        Some(_) => quote.covered,
        None => match &quote.address {
            Some(address) => reach::zone_for(cache, tx, &carts::destination(address))
                .await?
                .is_some(),
            None => false,
        },
    };
    if !covered {
        return Err(field_error("shipping_address", carts::NO_ZONE));
    }
    let message = match (method_id, quote.dropped) {
        (Some(id), Some(Dropped::Gone) | None) => {
            format!("Invalid pk \"{id}\" - object does not exist.")
        }
        (_, Some(dropped)) => dropped.message().to_owned(),
        (None, None) => "Choose a shipping method.".to_owned(),
    };
    Err(field_error("shipping_method_id", message))
}
