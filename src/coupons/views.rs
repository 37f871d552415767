//! Request and response types of `/api/coupons/`, with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::coupon;
use super::rules::Kind;
use crate::http::extract::{Fields, FromFields};
use crate::money::{Currency, Money};

/// Longest coupon code.
pub const CODE_MAX: usize = 50;

/// Largest `max_uses` and `max_uses_per_user`.
pub const USES_MAX: i64 = 1_000_000_000;

/// A coupon as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponView {
    pub id: i64,
    /// As it was entered; matched whatever the case.
    pub code: String,
    pub kind: Kind,
    /// A percentage (`"12.50"`) or an amount of the shop's currency (`"5.00"`).
    #[schema(example = "10.00")]
    pub value: String,
    /// The least subtotal it applies to (`"0.00"`: any).
    #[schema(example = "50.00")]
    pub min_order_amount: String,
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<DateTime<Utc>>,
    /// The first moment it no longer applies.
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<DateTime<Utc>>,
    /// Orders it may be used on in all (null: no limit).
    pub max_uses: Option<i64>,
    /// Orders each user may use it on (null: no limit).
    pub max_uses_per_user: Option<i64>,
    /// Orders placed with it (cancelled ones give their use back).
    pub uses: i64,
    pub is_active: bool,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

impl CouponView {
    /// The view of `row` in the shop's currency.
    pub fn new(row: coupon::Model, currency: Currency) -> CouponView {
        CouponView {
            id: row.id,
            code: row.code,
            kind: row.kind,
            value: row.kind.format_value(row.value, currency),
            min_order_amount: Money::from_minor(row.min_order_amount).format(currency),
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            max_uses: row.max_uses,
            max_uses_per_user: row.max_uses_per_user,
            uses: row.uses,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The fields of a coupon as a request gives them (`None`: not given). `value` is still text:
/// how it reads depends on the kind, which a `PATCH` may not give.
#[derive(Clone, Debug, Default)]
pub struct CouponInput {
    pub code: Option<String>,
    pub kind: Option<Kind>,
    pub value: Option<String>,
    pub min_order_amount: Option<Money>,
    pub valid_from: Option<Option<DateTime<Utc>>>,
    pub valid_until: Option<Option<DateTime<Utc>>>,
    pub max_uses: Option<Option<i64>>,
    pub max_uses_per_user: Option<Option<i64>>,
    pub is_active: Option<bool>,
}

/// A code is letters, digits, `-` and `_`.
pub fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn read_coupon(fields: &mut Fields, partial: bool) -> CouponInput {
    let code = fields.given_text("code", CODE_MAX, partial);
    if code.as_deref().is_some_and(|c| !is_code(c)) {
        fields.error(
            "code",
            "Enter a valid code: letters, digits, hyphens and underscores.",
        );
    }
    let kind_name = fields.given::<String>("kind", partial);
    let kind = kind_name.and_then(|name| {
        let kind = Kind::parse(&name);
        if kind.is_none() {
            fields.error("kind", format!("\"{name}\" is not a valid choice."));
        }
        kind
    });
    if !partial && !fields.contains("value") {
        fields.error("value", "This field is required.");
    }
    let value = match fields.optional::<Value>("value") {
        Some(Value::String(text)) => Some(text),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(_) => {
            fields.error("value", "A valid number is required.");
            None
        }
        None => None,
    };
    CouponInput {
        code,
        kind,
        value,
        min_order_amount: fields.money("min_order_amount"),
        valid_from: fields.nullable("valid_from"),
        valid_until: fields.nullable("valid_until"),
        max_uses: fields.nullable_integer_in("max_uses", 1, USES_MAX),
        max_uses_per_user: fields.nullable_integer_in("max_uses_per_user", 1, USES_MAX),
        is_active: fields.optional("is_active"),
    }
}

/// `POST /api/coupons/`.
#[derive(Debug, ToSchema)]
pub struct CouponRequest {
    /// Unique whatever the case; letters, digits, `-` and `_`.
    #[schema(min_length = 1, max_length = 50, pattern = "^[A-Za-z0-9_-]+$")]
    pub code: String,
    pub kind: Kind,
    /// `percent`: more than 0 and at most 100, two decimals at most; `fixed`: an amount of the
    /// shop's currency, more than 0.
    #[schema(example = "10.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub value: String,
    /// Default `"0.00"` (any subtotal).
    #[schema(value_type = Option<String>, nullable = false, example = "50.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub min_order_amount: Option<Money>,
    /// RFC 3339; null or absent: valid from now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_from: Option<DateTime<Utc>>,
    /// RFC 3339, after `valid_from`; null or absent: no end.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<DateTime<Utc>>,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub max_uses: Option<i64>,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub max_uses_per_user: Option<i64>,
    /// Default true.
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
}

impl FromFields for CouponRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_coupon(fields, false);
        Some(CouponRequest {
            code: input.code?,
            kind: input.kind?,
            value: input.value?,
            min_order_amount: input.min_order_amount,
            valid_from: input.valid_from.flatten(),
            valid_until: input.valid_until.flatten(),
            max_uses: input.max_uses.flatten(),
            max_uses_per_user: input.max_uses_per_user.flatten(),
            is_active: input.is_active,
        })
    }
}

impl From<CouponRequest> for CouponInput {
    fn from(r: CouponRequest) -> CouponInput {
        CouponInput {
            code: Some(r.code),
            kind: Some(r.kind),
            value: Some(r.value),
            min_order_amount: r.min_order_amount,
            valid_from: Some(r.valid_from),
            valid_until: Some(r.valid_until),
            max_uses: Some(r.max_uses),
            max_uses_per_user: Some(r.max_uses_per_user),
            is_active: r.is_active,
        }
    }
}

/// `PATCH /api/coupons/{id}/`: any of the fields; a new `kind` comes with its `value`.
#[derive(Debug, ToSchema)]
pub struct CouponChanges {
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 50,
        pattern = "^[A-Za-z0-9_-]+$"
    )]
    pub code: Option<String>,
    #[schema(nullable = false)]
    pub kind: Option<Kind>,
    #[schema(
        nullable = false,
        example = "10.00",
        pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
    )]
    pub value: Option<String>,
    #[schema(value_type = Option<String>, nullable = false, example = "50.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub min_order_amount: Option<Money>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_from: Option<Option<DateTime<Utc>>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<Option<DateTime<Utc>>>,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000_000)]
    pub max_uses: Option<Option<i64>>,
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000_000)]
    pub max_uses_per_user: Option<Option<i64>>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
}

impl FromFields for CouponChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_coupon(fields, true);
        Some(CouponChanges {
            code: input.code,
            kind: input.kind,
            value: input.value,
            min_order_amount: input.min_order_amount,
            valid_from: input.valid_from,
            valid_until: input.valid_until,
            max_uses: input.max_uses,
            max_uses_per_user: input.max_uses_per_user,
            is_active: input.is_active,
        })
    }
}

impl From<CouponChanges> for CouponInput {
    fn from(c: CouponChanges) -> CouponInput {
        CouponInput {
            code: c.code,
            kind: c.kind,
            value: c.value,
            min_order_amount: c.min_order_amount,
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            max_uses: c.max_uses,
            max_uses_per_user: c.max_uses_per_user,
            is_active: c.is_active,
        }
    }
}
