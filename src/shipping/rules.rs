//! What a shipping method charges: pure functions of the method's row, the cart's weight and
//! its subtotal after discount, shared by the customer's list of methods, the cart and the
//! checkout (through [`crate::tax::pricing::price`]).

use super::method::{self, MethodKind};

/// A weight band: carts up to and including `up_to_grams` pay `price` (minor units).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    pub up_to_grams: i64,
    pub price: i64,
}

/// How a method is priced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tariff {
    Flat(i64),
    /// Bands, lightest first.
    Weight(Vec<Band>),
}

/// A method's price rule and the tax class its price is taxed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodRule {
    pub tariff: Tariff,
    /// A subtotal after discount at or above which it ships free.
    pub free_over: Option<i64>,
    pub tax_class: String,
}

/// Reads a weight method's stored bands (`[[up_to_grams, price], …]`).
pub fn parse_bands(text: &str) -> Option<Vec<Band>> {
    let pairs: Vec<(i64, i64)> = serde_json::from_str(text).ok()?;
    Some(
        pairs
            .into_iter()
            .map(|(up_to_grams, price)| Band { up_to_grams, price })
            .collect(),
    )
}

/// The stored form of `bands`.
pub fn store_bands(bands: &[Band]) -> String {
    let pairs: Vec<(i64, i64)> = bands.iter().map(|b| (b.up_to_grams, b.price)).collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_owned())
}

impl MethodRule {
    /// The rule of a stored method (a method whose stored tariff cannot be read — which the
    /// API never writes — reaches nobody).
    pub fn of(row: &method::Model) -> Option<MethodRule> {
        let tariff = match row.kind {
            MethodKind::Flat => Tariff::Flat(row.price?),
            MethodKind::Weight => Tariff::Weight(parse_bands(row.rates.as_deref()?)?),
        };
        Some(MethodRule {
            tariff,
            free_over: row.free_over,
            tax_class: row.tax_class.clone(),
        })
    }

    /// What it charges a cart of `weight_grams` whose subtotal after discount is
    /// `after_discount`; `None` when the cart is heavier than its last band.
    pub fn price(&self, weight_grams: i64, after_discount: i64) -> Option<i64> {
        let price = match &self.tariff {
            Tariff::Flat(price) => *price,
            Tariff::Weight(bands) => {
                bands
                    .iter()
                    .find(|band| weight_grams <= band.up_to_grams)?
                    .price
            }
        };
        match self.free_over {
            Some(threshold) if after_discount >= threshold => Some(0),
            _ => Some(price),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight(free_over: Option<i64>) -> MethodRule {
        MethodRule {
            tariff: Tariff::Weight(vec![
                Band {
                    up_to_grams: 500,
                    price: 450,
                },
                Band {
                    up_to_grams: 2000,
                    price: 900,
                },
            ]),
            free_over,
            tax_class: "standard".to_owned(),
        }
    }

    #[test]
    fn bands_include_their_limit_and_a_heavier_cart_cannot_use_the_method() {
        let rule = weight(None);
        assert_eq!(rule.price(0, 1000), Some(450));
        assert_eq!(rule.price(500, 1000), Some(450));
        assert_eq!(rule.price(501, 1000), Some(900));
        assert_eq!(rule.price(2000, 1000), Some(900));
        assert_eq!(rule.price(2001, 1000), None);
    }

    #[test]
    fn free_over_counts_the_subtotal_after_discount_at_or_above() {
        let rule = MethodRule {
            tariff: Tariff::Flat(599),
            free_over: Some(5000),
            tax_class: "standard".to_owned(),
        };
        assert_eq!(rule.price(10_000, 4999), Some(599));
        assert_eq!(rule.price(10_000, 5000), Some(0));
        // Free does not make a method reach a cart heavier than its bands.
        assert_eq!(weight(Some(1)).price(3000, 5000), None);
    }

    #[test]
    fn stored_bands_read_back() {
        let bands = vec![Band {
            up_to_grams: 1000,
            price: 500,
        }];
        assert_eq!(parse_bands(&store_bands(&bands)), Some(bands));
        assert_eq!(parse_bands("not json"), None);
    }
}
