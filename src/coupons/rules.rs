//! What a coupon is worth and when it applies: pure functions of the coupon row, the time, the
//! user's past uses and the subtotal, shared by the cart (on every read) and by redemption.

use chrono::{DateTime, Utc};

use super::coupon;
use crate::money::{Currency, Money};

pub use super::coupon::Kind;

impl Kind {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Percent => "percent",
            Kind::Fixed => "fixed",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "percent" => Some(Kind::Percent),
            "fixed" => Some(Kind::Fixed),
            _ => None,
        }
    }

    /// Reads a coupon's `value` for this kind: a percentage with at most two decimals in
    /// `0 < v ≤ 100` (as basis points), or an amount of the shop's currency `> 0`.
    pub fn parse_value(self, text: &str, currency: Currency) -> Result<i64, String> {
        let text = text.trim();
        match self {
            Kind::Percent => {
                // A percentage has two decimals whatever the currency: parse it as such.
                let basis_points = Money::parse(text, Currency::USD)
                    .map_err(|e| e.to_string())?
                    .minor();
                if basis_points <= 0 || basis_points > 10_000 {
                    return Err("A percentage must be more than 0 and at most 100.".to_owned());
                }
                Ok(basis_points)
            }
            Kind::Fixed => {
                let amount = Money::parse(text, currency)
                    .map_err(|e| e.to_string())?
                    .minor();
                if amount <= 0 {
                    return Err("Ensure this value is greater than 0.".to_owned());
                }
                Ok(amount)
            }
        }
    }

    /// A stored value as the API shows it: `"12.50"` for a percentage, money otherwise.
    pub fn format_value(self, value: i64, currency: Currency) -> String {
        match self {
            Kind::Percent => Money::from_minor(value).format(Currency::USD),
            Kind::Fixed => Money::from_minor(value).format(currency),
        }
    }
}

/// Why a coupon does not apply. The message says which, under `code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Inactive,
    NotYetValid,
    Expired,
    UsedUp,
    UsedUpByUser,
    BelowMinimum(Money),
}

impl Refusal {
    /// The sentence for the client.
    pub fn message(&self, currency: Currency) -> String {
        match self {
            Refusal::Unknown => "This coupon code does not exist.".to_owned(),
            Refusal::Inactive => "This coupon is not active.".to_owned(),
            Refusal::NotYetValid => "This coupon is not valid yet.".to_owned(),
            Refusal::Expired => "This coupon has expired.".to_owned(),
            Refusal::UsedUp => "This coupon has been used up.".to_owned(),
            Refusal::UsedUpByUser => {
                "You have already used this coupon as often as it allows.".to_owned()
            }
            Refusal::BelowMinimum(minimum) => format!(
                "This coupon needs an order of at least {} {}.",
                minimum.format(currency),
                currency.code()
            ),
        }
    }
}

/// Whether `coupon` can be used now by a user who has used it `user_uses` times, on a
/// subtotal of `subtotal`. The checks run in the order a shopper can act on: a coupon that is
/// off or outside its dates is refused before its limits and its minimum.
pub fn check(
    coupon: &coupon::Model,
    now: DateTime<Utc>,
    user_uses: i64,
    subtotal: Money,
) -> Result<(), Refusal> {
    if !coupon.is_active {
        return Err(Refusal::Inactive);
    }
    if coupon.valid_from.is_some_and(|from| now < from) {
        return Err(Refusal::NotYetValid);
    }
    if coupon.valid_until.is_some_and(|until| now >= until) {
        return Err(Refusal::Expired);
    }
    if coupon.max_uses.is_some_and(|max| coupon.uses >= max) {
        return Err(Refusal::UsedUp);
    }
    if coupon.max_uses_per_user.is_some_and(|max| user_uses >= max) {
        return Err(Refusal::UsedUpByUser);
    }
    if subtotal.minor() < coupon.min_order_amount {
        return Err(Refusal::BelowMinimum(Money::from_minor(
            coupon.min_order_amount,
        )));
    }
    Ok(())
}

/// The discount `coupon` gives on `subtotal`: a percentage rounded half-up to the minor unit,
/// or the fixed amount; never more than the subtotal, never negative.
pub fn discount(coupon: &coupon::Model, subtotal: Money) -> Money {
    let subtotal = subtotal.max(Money::ZERO);
    let raw = match coupon.kind {
        Kind::Percent => subtotal.percent_half_up(coupon.value).unwrap_or(subtotal),
        Kind::Fixed => Money::from_minor(coupon.value),
    };
    raw.clamp(Money::ZERO, subtotal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coupon(kind: Kind, value: i64) -> coupon::Model {
        let now = crate::time::now();
        coupon::Model {
            id: 1,
            code: "SAVE".to_owned(),
            code_key: "save".to_owned(),
            kind,
            value,
            min_order_amount: 0,
            valid_from: None,
            valid_until: None,
            max_uses: None,
            max_uses_per_user: None,
            uses: 0,
            is_active: true,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_percentage_rounds_half_up_to_the_minor_unit() {
        let ten = coupon(Kind::Percent, 1000);
        assert_eq!(
            discount(&ten, Money::from_minor(5144)),
            Money::from_minor(514)
        );
        assert_eq!(
            discount(&ten, Money::from_minor(5145)),
            Money::from_minor(515),
            "514.5 cents rounds up"
        );
        let third = coupon(Kind::Percent, 3333);
        assert_eq!(discount(&third, Money::from_minor(3)), Money::from_minor(1));
        assert_eq!(
            discount(&coupon(Kind::Percent, 10_000), Money::from_minor(999)),
            Money::from_minor(999)
        );
    }

    #[test]
    fn a_discount_never_exceeds_the_subtotal() {
        let fixed = coupon(Kind::Fixed, 2000);
        assert_eq!(
            discount(&fixed, Money::from_minor(1500)),
            Money::from_minor(1500)
        );
        assert_eq!(discount(&fixed, Money::ZERO), Money::ZERO);
        assert_eq!(
            discount(&fixed, Money::from_minor(5000)),
            Money::from_minor(2000)
        );
    }

    #[test]
    fn each_refusal_is_named() {
        let now = crate::time::now();
        let hour = chrono::Duration::hours(1);
        let base = coupon(Kind::Fixed, 100);
        let subtotal = Money::from_minor(1000);
        assert_eq!(check(&base, now, 0, subtotal), Ok(()));
        let cases = [
            (
                coupon::Model {
                    is_active: false,
                    ..base.clone()
                },
                0,
                Refusal::Inactive,
            ),
            (
                coupon::Model {
                    valid_from: Some(now + hour),
                    ..base.clone()
                },
                0,
                Refusal::NotYetValid,
            ),
            (
                coupon::Model {
                    valid_until: Some(now),
                    ..base.clone()
                },
                0,
                Refusal::Expired,
            ),
            (
                coupon::Model {
                    max_uses: Some(3),
                    uses: 3,
                    ..base.clone()
                },
                0,
                Refusal::UsedUp,
            ),
            (
                coupon::Model {
                    max_uses_per_user: Some(1),
                    ..base.clone()
                },
                1,
                Refusal::UsedUpByUser,
            ),
            (
                coupon::Model {
                    min_order_amount: 1001,
                    ..base.clone()
                },
                0,
                Refusal::BelowMinimum(Money::from_minor(1001)),
            ),
        ];
        for (coupon, user_uses, refusal) in cases {
            assert_eq!(check(&coupon, now, user_uses, subtotal), Err(refusal));
        }
    }

    #[test]
    fn values_are_read_for_their_kind() {
        let usd = Currency::USD;
        assert_eq!(Kind::Percent.parse_value("12.5", usd), Ok(1250));
        assert_eq!(Kind::Percent.parse_value("100", usd), Ok(10_000));
        assert!(Kind::Percent.parse_value("0", usd).is_err());
        assert!(Kind::Percent.parse_value("100.01", usd).is_err());
        assert!(Kind::Percent.parse_value("1.234", usd).is_err());
        assert_eq!(Kind::Fixed.parse_value("5.00", usd), Ok(500));
        assert!(Kind::Fixed.parse_value("0.00", usd).is_err());
        assert!(Kind::Fixed.parse_value("-1", usd).is_err());
        let jpy = Currency::from_code("JPY").expect("JPY");
        assert_eq!(Kind::Fixed.parse_value("500", jpy), Ok(500));
        assert!(Kind::Fixed.parse_value("5.5", jpy).is_err());
        assert_eq!(Kind::Percent.format_value(1250, jpy), "12.50");
    }
}
