//! Money: integer minor units in storage and arithmetic, decimal strings on the wire.
//!
//! Nothing here ever touches a float. A [`Currency`] knows its ISO 4217 code and how many minor
//! digits it has; [`Money`] is a count of minor units; parsing and formatting go through the
//! currency so `"19.99"` in USD and `"1999"` in JPY are both exact.

use std::fmt;

/// An ISO 4217 currency with its number of minor digits (2 for USD, 0 for JPY, 3 for KWD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    minor_digits: u8,
}

/// Active ISO 4217 codes whose minor unit is not 2 digits.
const ZERO_DIGITS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const THREE_DIGITS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const FOUR_DIGITS: &[&str] = &["CLF", "UYW"];

/// Active ISO 4217 codes with a two-digit minor unit.
const TWO_DIGITS: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE",
    "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP",
    "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD",
    "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP",
    "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU", "UZS",
    "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
];

impl Currency {
    /// US dollars, the default shop currency.
    pub const USD: Currency = Currency {
        code: "USD",
        minor_digits: 2,
    };

    /// Looks up an ISO 4217 code (upper case, as the standard writes it).
    pub fn from_code(code: &str) -> Option<Currency> {
        let tables: [(&[&'static str], u8); 4] = [
            (TWO_DIGITS, 2),
            (ZERO_DIGITS, 0),
            (THREE_DIGITS, 3),
            (FOUR_DIGITS, 4),
        ];
        tables.iter().find_map(|(table, digits)| {
            table.iter().find(|c| **c == code).map(|c| Currency {
                code: c,
                minor_digits: *digits,
            })
        })
    }

    /// The three-letter code, e.g. `"USD"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// How many digits follow the decimal point.
    pub fn minor_digits(&self) -> u8 {
        self.minor_digits
    }

    fn scale(&self) -> i64 {
        10_i64.pow(u32::from(self.minor_digits))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// Largest number of digits accepted before the decimal point (a trillion minus one).
pub const MAX_WHOLE_DIGITS: usize = 12;

/// Why a decimal string is not an amount of money. The messages are the ones DRF gives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("A valid number is required.")]
    Invalid,
    #[error("Ensure that there are no more than {0} decimal places.")]
    TooManyDecimals(u8),
    #[error(
        "Ensure that there are no more than {MAX_WHOLE_DIGITS} digits before the decimal point."
    )]
    TooLarge,
}

/// An amount in minor units of the shop's currency (cents for USD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// An amount of `minor` minor units.
    pub const fn from_minor(minor: i64) -> Money {
        Money(minor)
    }

    /// The amount in minor units, as stored in the database.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Parses a decimal string strictly: digits, optionally a point and at most the currency's
    /// minor digits, optionally a leading `-`. No exponents, spaces, `+`, or bare points.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(MoneyError::Invalid);
        }
        let fraction = fraction.unwrap_or("");
        let digits = usize::from(currency.minor_digits);
        if fraction.len() > digits {
            return Err(MoneyError::TooManyDecimals(currency.minor_digits));
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > MAX_WHOLE_DIGITS {
            return Err(MoneyError::TooLarge);
        }
        // At most 12 + 4 digits: always fits in an i64.
        let whole_value: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MoneyError::Invalid)?
        };
        let mut fraction_value: i64 = 0;
        for position in 0..digits {
            let digit = fraction.as_bytes().get(position).map_or(0, |b| b - b'0');
            fraction_value = fraction_value * 10 + i64::from(digit);
        }
        let minor = whole_value * currency.scale() + fraction_value;
        Ok(Money(if negative { -minor } else { minor }))
    }

    /// Formats with exactly the currency's minor digits, e.g. `"19.99"`, `"-0.50"`, `"1999"`.
    pub fn format(self, currency: Currency) -> String {
        let scale = currency.scale().unsigned_abs();
        let magnitude = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        if currency.minor_digits == 0 {
            return format!("{sign}{magnitude}");
        }
        let width = usize::from(currency.minor_digits);
        format!("{sign}{}.{:0width$}", magnitude / scale, magnitude % scale)
    }

    /// Sum, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Difference, or `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// The amount times a quantity, or `None` on overflow.
    pub fn checked_mul(self, quantity: i64) -> Option<Money> {
        self.0.checked_mul(quantity).map(Money)
    }

    /// `percent` per cent of the amount (percent given in hundredths, so 1250 is 12.50 %),
    /// rounded half-up to the minor unit. `None` on overflow.
    pub fn percent_half_up(self, hundredths_of_percent: i64) -> Option<Money> {
        let product = i128::from(self.0) * i128::from(hundredths_of_percent);
        let divisor: i128 = 10_000;
        let quotient = product / divisor;
        let remainder = product % divisor;
        let rounded = if remainder.abs() * 2 >= divisor {
            quotient + product.signum()
        } else {
            quotient
        };
        i64::try_from(rounded).ok().map(Money)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> Result<Money, MoneyError> {
        Money::parse(text, Currency::USD)
    }

    #[test]
    fn decimal_strings_parse_to_exact_minor_units() {
        assert_eq!(usd("19.99"), Ok(Money::from_minor(1999)));
        assert_eq!(usd("19.9"), Ok(Money::from_minor(1990)));
        assert_eq!(usd("19"), Ok(Money::from_minor(1900)));
        assert_eq!(usd("0.01"), Ok(Money::from_minor(1)));
        assert_eq!(usd("-0.50"), Ok(Money::from_minor(-50)));
        assert_eq!(usd("000012.30"), Ok(Money::from_minor(1230)));
    }

    #[test]
    fn anything_but_a_plain_decimal_is_rejected() {
        for bad in [
            "", ".5", "5.", "+5", " 5", "5 ", "1e3", "NaN", "inf", "1,00", "--1", "0x10", "1.2.3",
            "١٢",
        ] {
            assert_eq!(usd(bad), Err(MoneyError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn more_decimals_than_the_currency_has_are_rejected() {
        assert_eq!(usd("1.999"), Err(MoneyError::TooManyDecimals(2)));
        let jpy = Currency::from_code("JPY").expect("JPY is ISO 4217");
        assert_eq!(
            Money::parse("1.5", jpy),
            Err(MoneyError::TooManyDecimals(0))
        );
        assert_eq!(Money::parse("1500", jpy), Ok(Money::from_minor(1500)));
    }

    #[test]
    fn huge_amounts_are_rejected_not_wrapped() {
        assert_eq!(usd("9999999999999"), Err(MoneyError::TooLarge));
        assert_eq!(
            usd("99999999999999999999999999999"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            usd("999999999999.99"),
            Ok(Money::from_minor(99_999_999_999_999))
        );
    }

    #[test]
    fn formatting_uses_the_currency_minor_digits() {
        assert_eq!(Money::from_minor(1999).format(Currency::USD), "19.99");
        assert_eq!(Money::from_minor(5).format(Currency::USD), "0.05");
        assert_eq!(Money::from_minor(-50).format(Currency::USD), "-0.50");
        assert_eq!(Money::ZERO.format(Currency::USD), "0.00");
        let kwd = Currency::from_code("KWD").expect("KWD is ISO 4217");
        assert_eq!(Money::from_minor(1234).format(kwd), "1.234");
        let jpy = Currency::from_code("JPY").expect("JPY is ISO 4217");
        assert_eq!(Money::from_minor(1234).format(jpy), "1234");
    }

    #[test]
    fn parse_and_format_round_trip() {
        for text in ["0.00", "0.01", "19.99", "100.00", "999999999999.99"] {
            let money = usd(text).expect("valid amount");
            assert_eq!(money.format(Currency::USD), text);
        }
    }

    #[test]
    fn percentages_round_half_up_to_the_minor_unit() {
        // 15 % of 0.10 = 0.015 → 0.02
        assert_eq!(
            Money::from_minor(10).percent_half_up(1500),
            Some(Money::from_minor(2))
        );
        // 15 % of 0.09 = 0.0135 → 0.01
        assert_eq!(
            Money::from_minor(9).percent_half_up(1500),
            Some(Money::from_minor(1))
        );
        // 33.33 % of 100.00 = 33.33
        assert_eq!(
            Money::from_minor(10_000).percent_half_up(3333),
            Some(Money::from_minor(3333))
        );
    }

    #[test]
    fn unknown_currency_codes_are_refused() {
        assert!(Currency::from_code("XYZ").is_none());
        assert!(Currency::from_code("usd").is_none());
        assert_eq!(
            Currency::from_code("EUR").map(|c| c.minor_digits()),
            Some(2)
        );
    }

    #[test]
    fn arithmetic_reports_overflow() {
        assert_eq!(
            Money::from_minor(i64::MAX).checked_add(Money::from_minor(1)),
            None
        );
        assert_eq!(Money::from_minor(i64::MAX).checked_mul(2), None);
        assert_eq!(
            Money::from_minor(250).checked_mul(3),
            Some(Money::from_minor(750))
        );
    }
}
