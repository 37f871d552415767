//! The shop's rules that operators tune: the cart's limits and how long an idle cart is kept.

use std::time::Duration;

use super::read::{duration, positive_integer, rate};
use super::{SettingsError, Source, invalid};
use crate::throttle::Rate;

/// The cart's limits.
#[derive(Clone, Copy, Debug)]
pub struct CartSettings {
    /// `EMPORIUM_CART_MAX_LINES`: distinct products in one cart (default 100).
    pub max_lines: u64,
    /// `EMPORIUM_CART_MAX_QUANTITY`: units of one product in one cart (default 10,000).
    pub max_quantity: i64,
    /// `EMPORIUM_CART_RETENTION`: a cart nobody changed for this long is removed, and so is the
    /// cart of a deactivated account (default 30d).
    pub retention: Duration,
    /// `EMPORIUM_THROTTLE_COUPON`: coupon codes a user may try that turn out not to apply
    /// (default `20/hour`; `off` disables), so codes cannot be guessed by trying them.
    pub coupon_failures: Option<Rate>,
}

/// Largest `EMPORIUM_CART_MAX_QUANTITY`.
const QUANTITY_CEILING: i64 = 1_000_000;

/// Largest `EMPORIUM_CART_MAX_LINES`: with lines of at most 10^15 minor units each, a cart's
/// subtotal stays inside 64 bits.
const LINES_CEILING: u64 = 1_000;

impl CartSettings {
    /// Reads the `EMPORIUM_CART_*` variables.
    pub(super) fn read(source: &dyn Source) -> Result<CartSettings, SettingsError> {
        let max_quantity = positive_integer(source, "EMPORIUM_CART_MAX_QUANTITY", 10_000_i64)?;
        if max_quantity > QUANTITY_CEILING {
            return Err(invalid(
                "EMPORIUM_CART_MAX_QUANTITY",
                format!("must be at most {QUANTITY_CEILING}"),
            ));
        }
        let max_lines = positive_integer(source, "EMPORIUM_CART_MAX_LINES", 100_u64)?;
        if max_lines > LINES_CEILING {
            return Err(invalid(
                "EMPORIUM_CART_MAX_LINES",
                format!("must be at most {LINES_CEILING}"),
            ));
        }
        Ok(CartSettings {
            max_lines,
            max_quantity,
            retention: duration(
                source,
                "EMPORIUM_CART_RETENTION",
                Duration::from_secs(30 * 24 * 3600),
            )?,
            coupon_failures: rate(source, "EMPORIUM_THROTTLE_COUPON", "20/hour")?,
        })
    }
}

/// Orders' timings and thresholds.
#[derive(Clone, Copy, Debug)]
pub struct OrderSettings {
    /// `EMPORIUM_ORDER_PAYMENT_TIMEOUT`: an order still `PENDING` and unpaid this long after it
    /// was placed is cancelled and its stock returned (default 30m).
    pub payment_timeout: Duration,
    /// `EMPORIUM_LOW_STOCK_THRESHOLD`: an order that takes a product's stock from above this to
    /// this or below sends staff one stock alert (default 5; 0 alerts when it runs out).
    pub low_stock_threshold: i64,
}

impl OrderSettings {
    /// Reads the `EMPORIUM_ORDER_*` and `EMPORIUM_LOW_STOCK_*` variables.
    pub(super) fn read(source: &dyn Source) -> Result<OrderSettings, SettingsError> {
        let low_stock_threshold = match super::read::value(source, "EMPORIUM_LOW_STOCK_THRESHOLD")?
        {
            None => 5,
            Some(text) => text
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=1_000_000_000).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "EMPORIUM_LOW_STOCK_THRESHOLD",
                        format!("{text:?} is not a whole number from 0 to 1000000000"),
                    )
                })?,
        };
        Ok(OrderSettings {
            payment_timeout: duration(
                source,
                "EMPORIUM_ORDER_PAYMENT_TIMEOUT",
                Duration::from_secs(30 * 60),
            )?,
            low_stock_threshold,
        })
    }
}
