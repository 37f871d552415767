//! Request and response types of `/api/tax/rates/`, with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::classes;
use super::pricing::{format_rate, parse_rate};
use super::rate;
use crate::accounts::views::is_country;
use crate::http::extract::{Fields, FromFields, text_problem};
use crate::shipping::reach::region_key;

/// Longest rate name and region.
pub const NAME_MAX: usize = 100;
/// Longest region, as written and as its key.
pub const REGION_MAX: usize = 100;

/// A tax rate as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateView {
    pub id: i64,
    /// ISO 3166 alpha-2.
    #[schema(example = "US")]
    pub country: String,
    /// The region it applies to, as written (matched against an address's `state` whatever the
    /// case); null: the whole country. A region's rate replaces the country's of its class.
    #[schema(example = "CA")]
    pub region: Option<String>,
    #[schema(example = "standard")]
    pub tax_class: String,
    /// A percentage: two decimals, more when the rate has them (`"8.875"`).
    #[schema(example = "20.00")]
    pub rate: String,
    /// As tax lines show it.
    #[schema(example = "VAT")]
    pub name: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

impl From<rate::Model> for RateView {
    fn from(row: rate::Model) -> RateView {
        RateView {
            id: row.id,
            country: row.country,
            region: (!row.region_key.is_empty()).then_some(row.region),
            tax_class: row.tax_class,
            rate: format_rate(row.rate),
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The fields of a rate as a request gives them (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct RateInput {
    /// Upper-cased.
    pub country: Option<String>,
    /// Trimmed; `Some(None)`: the whole country.
    pub region: Option<Option<String>>,
    pub tax_class: Option<String>,
    /// Millionths of the amount.
    pub rate: Option<i64>,
    pub name: Option<String>,
}

/// A percentage from 0 to 100 with at most four decimals, in millionths, with DRF's messages
/// for a decimal field.
pub fn read_rate(value: &Value) -> Result<i64, String> {
    const INVALID: &str = "A valid number is required.";
    let text = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return Err(INVALID.to_owned()),
    };
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || unsigned.ends_with('.') {
        return Err(INVALID.to_owned());
    }
    let zero = whole.bytes().chain(fraction.bytes()).all(|b| b == b'0');
    if negative && !zero {
        return Err("Ensure this value is greater than or equal to 0.".to_owned());
    }
    if fraction.len() > 4 {
        return Err("Ensure that there are no more than 4 decimal places.".to_owned());
    }
    let whole = whole.trim_start_matches('0');
    let over = whole.len() > 3
        || whole.parse::<u32>().unwrap_or(0) > 100
        || (whole == "100" && !digits_zero(fraction));
    if over {
        return Err("Ensure this value is less than or equal to 100.".to_owned());
    }
    let normal = format!("{}.{fraction}", if whole.is_empty() { "0" } else { whole });
    parse_rate(normal.trim_end_matches('.')).ok_or_else(|| INVALID.to_owned())
}

fn digits_zero(text: &str) -> bool {
    text.bytes().all(|b| b == b'0')
}

/// A region as written: trimmed, 1–100 characters (its key too), no control characters.
fn read_region(fields: &mut Fields) -> Option<Option<String>> {
    let region = fields.nullable::<String>("region")?;
    let Some(text) = region else {
        return Some(None);
    };
    let text = text.trim();
    let problem = if text.is_empty() {
        Some("This field may not be blank.".to_owned())
    } else if region_key(text).chars().count() > REGION_MAX {
        Some(format!(
            "Ensure this field has no more than {REGION_MAX} characters."
        ))
    } else {
        text_problem(text, REGION_MAX)
    };
    match problem {
        Some(message) => {
            fields.error("region", message);
            None
        }
        None => Some(Some(text.to_owned())),
    }
}

fn read_rate_fields(fields: &mut Fields, partial: bool) -> RateInput {
    let country = fields
        .given_text("country", 2, partial)
        .map(|code| code.to_ascii_uppercase());
    if let Some(code) = country.as_deref().filter(|code| !is_country(code)) {
        fields.error("country", format!("\"{code}\" is not a valid choice."));
    }
    let region = read_region(fields);
    let tax_class = fields
        .optional::<String>("tax_class")
        .map(|class| class.trim().to_owned());
    if let Some(problem) = tax_class.as_deref().and_then(classes::problem) {
        fields.error("tax_class", problem);
    }
    let given = fields.given::<Value>("rate", partial);
    let rate = given.and_then(|value| match read_rate(&value) {
        Ok(rate) => Some(rate),
        Err(message) => {
            fields.error("rate", message);
            None
        }
    });
    let name = fields.given_text("name", NAME_MAX, partial);
    RateInput {
        country,
        region,
        tax_class,
        rate,
        name,
    }
}

/// `POST /api/tax/rates/`.
#[derive(Debug, ToSchema)]
pub struct RateRequest {
    /// ISO 3166 alpha-2 (any case; stored upper-cased).
    #[schema(example = "US", pattern = "^[A-Za-z]{2}$")]
    pub country: String,
    /// 1–100 characters, as an address's `state` writes it (compared whatever the case); null
    /// or absent: the whole country.
    #[schema(example = "CA", min_length = 1, max_length = 100)]
    pub region: Option<String>,
    /// Default `standard`: 1–32 of `a–z 0–9 - _`. One rate per country, region and class.
    #[schema(nullable = false, pattern = r"^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    /// A percentage from 0 to 100, at most four decimals (a string, or a number).
    #[schema(example = "20.00", pattern = r"^[0-9]{1,3}(\.[0-9]{1,4})?$")]
    pub rate: String,
    #[schema(min_length = 1, max_length = 100, example = "VAT")]
    pub name: String,
    #[schema(ignore)]
    pub input: RateInput,
}

impl FromFields for RateRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_rate_fields(fields, false);
        Some(RateRequest {
            country: input.country.clone()?,
            region: input.region.clone().flatten(),
            tax_class: input.tax_class.clone(),
            rate: format_rate(input.rate?),
            name: input.name.clone()?,
            input,
        })
    }
}

/// `PATCH /api/tax/rates/{id}/`: any of the fields.
#[derive(Debug, ToSchema)]
pub struct RateChanges {
    #[schema(nullable = false, example = "US", pattern = "^[A-Za-z]{2}$")]
    pub country: Option<String>,
    /// Null: the whole country.
    #[schema(example = "CA", min_length = 1, max_length = 100)]
    pub region: Option<String>,
    #[schema(nullable = false, pattern = r"^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    #[schema(
        nullable = false,
        example = "20.00",
        pattern = r"^[0-9]{1,3}(\.[0-9]{1,4})?$"
    )]
    pub rate: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(ignore)]
    pub input: RateInput,
}

impl FromFields for RateChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_rate_fields(fields, true);
        Some(RateChanges {
            country: input.country.clone(),
            region: input.region.clone().flatten(),
            tax_class: input.tax_class.clone(),
            rate: input.rate.map(format_rate),
            name: input.name.clone(),
            input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rates_read_as_percentages_with_drfs_messages() {
        assert_eq!(read_rate(&json!("20")), Ok(200_000));
        assert_eq!(read_rate(&json!(" 8.875 ")), Ok(88_750));
        assert_eq!(read_rate(&json!(8.875)), Ok(88_750));
        assert_eq!(read_rate(&json!(20)), Ok(200_000));
        assert_eq!(read_rate(&json!("0")), Ok(0));
        assert_eq!(read_rate(&json!("-0")), Ok(0));
        assert_eq!(read_rate(&json!("100.0000")), Ok(1_000_000));
        assert_eq!(read_rate(&json!("007.5")), Ok(75_000));
        let message = |v: Value| read_rate(&v).expect_err("refused");
        assert_eq!(message(json!("abc")), "A valid number is required.");
        assert_eq!(message(json!("1e2")), "A valid number is required.");
        assert_eq!(message(json!("5.")), "A valid number is required.");
        assert_eq!(message(json!(true)), "A valid number is required.");
        assert_eq!(
            message(json!("-1")),
            "Ensure this value is greater than or equal to 0."
        );
        assert_eq!(
            message(json!("100.01")),
            "Ensure this value is less than or equal to 100."
        );
        assert_eq!(
            message(json!("123456789012345678901234567890")),
            "Ensure this value is less than or equal to 100."
        );
        assert_eq!(
            message(json!("5.12345")),
            "Ensure that there are no more than 4 decimal places."
        );
    }
}
