//! The one pricing function. The cart on every read, the checkout, the order (and so its
//! payment amount, its invoice and its refunds) take every amount from [`price`]: the lines,
//! the discount spread over them, the shipping method's price for the cart, the tax per line
//! and on shipping, the tax lines and the total. Integer minor units and rates in millionths
//! throughout; no float anywhere.
//!
//! The rules (API.md, "Shipping and tax"):
//! - a line's amount is unit price × quantity; its share of the discount is
//!   `discount × amount / subtotal` rounded down, and the minor units left over go one each to
//!   the lines with the largest amounts (ties: the earlier line); shipping takes no share;
//! - the exact tax on a line's amount after its share, and on shipping at its method's class,
//!   is rounded half-up to the minor unit: `amount × rate` when prices exclude tax,
//!   `amount − amount / (1 + rate)` when they include it (the total does not move);
//! - tax lines group the rounded taxes by name and rate, leave out zero amounts and add up to
//!   the tax; `total = subtotal − discount + shipping + tax` (tax only when excluded).

use std::collections::HashMap;

use crate::shipping::rules::MethodRule;

/// Millionths in one (a rate of 1_000_000 is 100 %).
pub const ONE: i64 = 1_000_000;

/// A line as pricing sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Unit price × quantity, minor units.
    pub amount: i64,
    /// Grams of the whole line (weight × quantity; a variant without a weight weighs 0).
    pub weight_grams: i64,
    pub tax_class: String,
}

/// A tax rate as it applies at a destination.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rate {
    pub name: String,
    /// Millionths of the amount.
    pub rate: i64,
}

/// The rates of one destination by tax class; a class missing is untaxed.
pub type Rates = HashMap<String, Rate>;

/// Everything a price depends on.
#[derive(Clone, Copy, Debug)]
pub struct Basket<'a> {
    /// The lines that can be bought, in the cart's order.
    pub lines: &'a [Line],
    /// The coupon's discount (at most the subtotal).
    pub discount: i64,
    /// The chosen shipping method (`None`: none chosen, or the shop ships free).
    pub method: Option<&'a MethodRule>,
    /// The destination's rates (`None`: no destination yet, so no tax).
    pub rates: Option<&'a Rates>,
    /// Whether prices contain their tax.
    pub prices_include_tax: bool,
}

/// The tax of one line or of shipping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Taxed {
    /// The line's share of the discount.
    pub discount_share: i64,
    /// The rate applied (0: untaxed) and its name.
    pub rate: i64,
    pub name: Option<String>,
    pub tax: i64,
}

/// Tax at one name and rate, summed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxLine {
    pub name: String,
    pub rate: i64,
    pub amount: i64,
}

/// Every amount of a basket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    pub subtotal: i64,
    pub discount: i64,
    /// `None` when no method is chosen.
    pub shipping: Option<i64>,
    /// `None` when there is no destination.
    pub tax: Option<i64>,
    pub tax_lines: Vec<TaxLine>,
    pub total: i64,
    /// Per line, in the basket's order.
    pub lines: Vec<Taxed>,
    pub shipping_tax: Taxed,
    /// The lines' weight in grams.
    pub weight_grams: i64,
}

/// The chosen method cannot take this basket: it is heavier than the method's last band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooHeavy;

/// Each line's share of `discount`: rounded down in proportion to the amounts, the minor
/// units left over one each to the largest lines (ties: the earlier).
pub fn discount_shares(amounts: &[i64], discount: i64) -> Vec<i64> {
    let subtotal: i128 = amounts.iter().map(|&a| i128::from(a)).sum();
    if subtotal <= 0 || discount <= 0 {
        return vec![0; amounts.len()];
    }
    let discount = i128::from(discount).min(subtotal);
    let mut shares: Vec<i64> = amounts
        .iter()
        .map(|&a| i64::try_from(discount * i128::from(a) / subtotal).unwrap_or(0))
        .collect();
    let given: i128 = shares.iter().map(|&s| i128::from(s)).sum();
    let mut left = usize::try_from(discount - given).unwrap_or(0);
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    // Stable: equal amounts keep the earlier line first.
    order.sort_by(|&a, &b| amounts[b].cmp(&amounts[a]));
    for index in order {
        if left == 0 {
            break;
        }
        shares[index] += 1;
        left -= 1;
    }
    shares
}

/// The tax on `amount` at `rate` millionths, rounded half-up: added to a net amount, or
/// contained in a gross one.
pub fn tax_on(amount: i64, rate: i64, contained: bool) -> i64 {
    if amount <= 0 || rate <= 0 {
        return 0;
    }
    let (amount, rate) = (i128::from(amount), i128::from(rate));
    let one = i128::from(ONE);
    let tax = if contained {
        // amount × rate / (1 + rate), half-up: ⌊(2·a·r + d) / 2d⌋ with d = 1 + rate.
        let d = one + rate;
        (2 * amount * rate + d) / (2 * d)
    } else {
        (amount * rate + one / 2) / one
    };
    i64::try_from(tax).unwrap_or(i64::MAX)
}

fn taxed(amount: i64, class: &str, rates: Option<&Rates>, contained: bool) -> Taxed {
    match rates.and_then(|rates| rates.get(class)) {
        Some(rate) => Taxed {
            discount_share: 0,
            rate: rate.rate,
            name: Some(rate.name.clone()),
            tax: tax_on(amount, rate.rate, contained),
        },
        None => Taxed::default(),
    }
}

/// Groups taxes by name and rate in the order they first appear, without zero amounts.
fn tax_lines<'a>(taxes: impl Iterator<Item = &'a Taxed>) -> Vec<TaxLine> {
    let mut lines: Vec<TaxLine> = Vec::new();
    for taxed in taxes {
        let Some(name) = &taxed.name else { continue };
        if taxed.tax == 0 {
            continue;
        }
        match lines
            .iter_mut()
            .find(|l| &l.name == name && l.rate == taxed.rate)
        {
            Some(line) => line.amount += taxed.tax,
            None => lines.push(TaxLine {
                name: name.clone(),
                rate: taxed.rate,
                amount: taxed.tax,
            }),
        }
    }
    lines
}

/// The lines' weight and subtotal after discount: what a method's price depends on.
fn weight_and_after_discount(basket: &Basket<'_>) -> (i64, i64, i64) {
    let subtotal = basket
        .lines
        .iter()
        .fold(0_i64, |sum, l| sum.saturating_add(l.amount));
    let discount = basket.discount.clamp(0, subtotal.max(0));
    let weight = basket
        .lines
        .iter()
        .fold(0_i64, |sum, l| sum.saturating_add(l.weight_grams.max(0)));
    (weight, subtotal, subtotal - discount)
}

/// Prices a basket; [`TooHeavy`] when its chosen method cannot take it.
pub fn price(basket: &Basket<'_>) -> Result<Priced, TooHeavy> {
    let (weight, _, after_discount) = weight_and_after_discount(basket);
    let shipping = match basket.method {
        // Nothing to ship costs nothing to ship.
        Some(rule) if basket.lines.is_empty() => Some((0, rule.tax_class.as_str())),
        Some(rule) => Some((
            rule.price(weight, after_discount).ok_or(TooHeavy)?,
            rule.tax_class.as_str(),
        )),
        None => None,
    };
    Ok(priced(basket, shipping))
}

/// Prices a basket as if no method were chosen (so it never refuses).
pub fn price_unshipped(basket: &Basket<'_>) -> Priced {
    priced(basket, None)
}

/// Every amount, with shipping's price and tax class when a method applies.
fn priced(basket: &Basket<'_>, shipping: Option<(i64, &str)>) -> Priced {
    let (weight_grams, subtotal, after_discount) = weight_and_after_discount(basket);
    let discount = subtotal - after_discount;
    let contained = basket.prices_include_tax;
    let amounts: Vec<i64> = basket.lines.iter().map(|l| l.amount).collect();
    let shares = discount_shares(&amounts, discount);
    let lines: Vec<Taxed> = basket
        .lines
        .iter()
        .zip(shares)
        .map(|(line, share)| Taxed {
            discount_share: share,
            ..taxed(
                line.amount - share,
                &line.tax_class,
                basket.rates,
                contained,
            )
        })
        .collect();
    let shipping_tax = match shipping {
        Some((amount, class)) => taxed(amount, class, basket.rates, contained),
        None => Taxed::default(),
    };
    let tax_lines = tax_lines(lines.iter().chain([&shipping_tax]));
    let tax_sum = tax_lines
        .iter()
        .fold(0_i64, |sum, l| sum.saturating_add(l.amount));
    let shipping = shipping.map(|(amount, _)| amount);
    let mut total = after_discount.saturating_add(shipping.unwrap_or(0));
    if !contained {
        total = total.saturating_add(tax_sum);
    }
    Priced {
        subtotal,
        discount,
        shipping,
        tax: basket.rates.map(|_| tax_sum),
        tax_lines,
        total,
        lines,
        shipping_tax,
        weight_grams,
    }
}

/// A rate in millionths as the API writes a percentage: at least two decimals, more only
/// when the rate has them (`"20.00"`, `"8.875"`).
pub fn format_rate(rate: i64) -> String {
    let whole = rate / 10_000;
    let fraction = format!("{:04}", (rate % 10_000).abs());
    let trimmed = fraction.trim_end_matches('0');
    let decimals = if trimmed.len() < 2 {
        &fraction[..2]
    } else {
        trimmed
    };
    format!("{whole}.{decimals}")
}

/// Reads a percentage from 0 to 100 with at most four decimals (`"20"`, `"8.875"`) into
/// millionths.
pub fn parse_rate(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || whole.len() > 3
        || fraction.len() > 4
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<4}").parse().ok()?;
    let rate = whole * 10_000 + fraction;
    (rate <= 100 * 10_000).then_some(rate)
}

#[cfg(test)]
#[path = "pricing_tests.rs"]
mod tests;
