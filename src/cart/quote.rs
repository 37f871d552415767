//! What a cart comes to once shipping and tax are in: the destination's rates, the chosen
//! method checked again (still active, still reaching the address, the cart not too heavy for
//! it — else dropped, saying why), and every amount from [`pricing::price`]. The cart on every
//! read and the checkout both price through [`quote`].

use sea_orm::{ConnectionTrait, DbErr};

use crate::accounts::postal::ShippingAddress;
use crate::cache::ResponseCache;
use crate::catalog::{product, variant};
use crate::settings::TaxSettings;
use crate::shipping::method;
use crate::shipping::reach::{self, Destination};
use crate::shipping::rules::MethodRule;
use crate::tax::lookup;
use crate::tax::pricing::{self, Line, Priced, Rates};

/// Why a chosen method does not apply now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// Deleted or deactivated.
    Gone,
    /// No zone covers the address's country (or region).
    NoZone,
    /// A zone covers the address, not the method's.
    Elsewhere,
    /// The cart is heavier than the method's last band.
    TooHeavy,
}

impl Dropped {
    /// The sentence for the client.
    pub fn message(self) -> &'static str {
        match self {
            Dropped::Gone => "The shipping method you chose is no longer available.",
            Dropped::NoZone => NO_ZONE,
            Dropped::Elsewhere => "The shipping method you chose does not reach this address.",
            Dropped::TooHeavy => "Your cart is too heavy for the shipping method you chose.",
        }
    }
}

/// The message for an address no zone covers.
pub const NO_ZONE: &str = "We do not ship to this country.";

/// The method a cart ships with, as it applies now.
#[derive(Clone, Debug)]
pub struct Shipping {
    pub method: method::Model,
    /// What it charges this cart.
    pub price: i64,
}

/// A cart's price with shipping and tax.
#[derive(Clone, Debug)]
pub struct Quote {
    pub address: Option<ShippingAddress>,
    /// The chosen method if it applies now.
    pub shipping: Option<Shipping>,
    /// Why the chosen method was dropped, if it was.
    pub dropped: Option<Dropped>,
    /// Whether some zone covers the address (known only when a method was chosen; else
    /// `false`).
    pub covered: bool,
    pub prices_include_tax: bool,
    pub priced: Priced,
}

/// What pricing needs from the shop's settings.
#[derive(Clone, Copy, Debug)]
pub struct TaxRules<'a> {
    pub prices_include_tax: bool,
    /// The shop's country: its rates show in a cart with tax-inclusive prices before a
    /// destination is chosen.
    pub shop_country: &'a str,
}

impl<'a> TaxRules<'a> {
    /// The rules the settings give.
    pub fn of(settings: &'a TaxSettings) -> TaxRules<'a> {
        TaxRules {
            prices_include_tax: settings.prices_include_tax,
            shop_country: &settings.shop_country,
        }
    }
}

/// A line as pricing sees it: `amount` (unit price × quantity), the weight of the units (a
/// variant without a weight weighs 0), and the variant's tax class, else its product's.
pub fn line(
    product: &product::Model,
    variant: &variant::Model,
    quantity: i64,
    amount: i64,
) -> Line {
    Line {
        amount,
        weight_grams: variant.weight_grams.unwrap_or(0).saturating_mul(quantity),
        tax_class: variant
            .tax_class
            .clone()
            .unwrap_or_else(|| product.tax_class.clone()),
    }
}

/// The destination of an address: its country and its `state` as the region.
pub fn destination(address: &ShippingAddress) -> Destination {
    Destination {
        country: address.country.clone(),
        region: address.state.clone(),
    }
}

/// Prices `lines` (the ones that can be bought, in the cart's order) with `discount`, to
/// `address` by the method `method_id`, checking the method again. Three statements with an
/// address and a method (the rates, the zone, the method), one with an address only (the
/// rates), and without one, one for tax-inclusive prices (the shop's country's rates) or none.
pub async fn quote<C: ConnectionTrait>(
    cache: &ResponseCache,
    conn: &C,
    rules: TaxRules<'_>,
    lines: &[Line],
    discount: i64,
    address: Option<ShippingAddress>,
    method_id: Option<i64>,
) -> Result<Quote, DbErr> {
    let to = address.as_ref().map(destination);
    let rates: Option<Rates> = match &to {
        Some(to) => Some(lookup::rates_at(cache, conn, to).await?),
        None if rules.prices_include_tax => Some(
            lookup::rates_at(
                cache,
                conn,
                &Destination {
                    country: rules.shop_country.to_owned(),
                    region: String::new(),
                },
            )
            .await?,
        ),
        None => None,
    };
    let (zone, chosen) = match (&to, method_id) {
        (Some(to), Some(id)) => (
            reach::zone_for(cache, conn, to).await?,
            reach::method(cache, conn, id).await?,
        ),
        // Without a method the zone is not needed (the checkout asks when it is).
        _ => (None, None),
    };
    let covered = zone.is_some();
    let mut dropped = None;
    let mut rule = None;
    if let (Some(_), Some(_)) = (&to, method_id) {
        match chosen.as_ref().filter(|m| m.is_active) {
            None => dropped = Some(Dropped::Gone),
            Some(_) if zone.is_none() => dropped = Some(Dropped::NoZone),
            Some(m) if Some(m.zone_id) != zone => dropped = Some(Dropped::Elsewhere),
            Some(m) => match MethodRule::of(m) {
                Some(r) => rule = Some(r),
                None => dropped = Some(Dropped::Gone),
            },
        }
    }
    let basket = |method| pricing::Basket {
        lines,
        discount,
        method,
        rates: rates.as_ref(),
        prices_include_tax: rules.prices_include_tax,
    };
    let (priced, rule) = match pricing::price(&basket(rule.as_ref())) {
        Ok(priced) => (priced, rule),
        Err(pricing::TooHeavy) => {
            dropped = Some(Dropped::TooHeavy);
            (pricing::price_unshipped(&basket(None)), None)
        }
    };
    let shipping = match (rule, chosen, priced.shipping) {
        (Some(_), Some(method), Some(price)) => Some(Shipping { method, price }),
        _ => None,
    };
    Ok(Quote {
        address,
        shipping,
        dropped,
        covered,
        prices_include_tax: rules.prices_include_tax,
        priced,
    })
}

/// The methods that reach `address`, each with what it charges this cart (`lines` after
/// `discount`), cheapest first; a method the cart is too heavy for is left out.
pub async fn methods_for<C: ConnectionTrait>(
    conn: &C,
    lines: &[Line],
    discount: i64,
    address: &ShippingAddress,
) -> Result<Vec<Shipping>, DbErr> {
    let methods = reach::methods_reaching(conn, &destination(address)).await?;
    let subtotal = lines.iter().fold(0_i64, |s, l| s.saturating_add(l.amount));
    let weight = lines
        .iter()
        .fold(0_i64, |s, l| s.saturating_add(l.weight_grams.max(0)));
    let after_discount = subtotal - discount.clamp(0, subtotal.max(0));
    let mut reaching: Vec<Shipping> = methods
        .into_iter()
        .filter_map(|method| {
            let price = MethodRule::of(&method)?.price(weight, after_discount)?;
            Some(Shipping { method, price })
        })
        .collect();
    reaching.sort_by_key(|s| (s.price, s.method.id));
    Ok(reaching)
}
