//! The request and response types of stock adjustments, with their OpenAPI schemas.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Adjustment, MAX_STOCK};
use crate::catalog::stock_movement;
use crate::http::extract::{Fields, FromFields};

/// `POST /api/products/{id}/stock/`: either `delta`, or `set` with `expected` (the stock staff
/// saw); `reason` is optional text.
#[derive(Debug, ToSchema)]
pub struct StockRequest {
    /// Units to add (negative: to take); not 0.
    #[schema(nullable = false, minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub delta: Option<i64>,
    /// The new stock, applied only if it is still `expected`.
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000)]
    pub set: Option<i64>,
    /// Required with `set`.
    #[schema(nullable = false, minimum = 0)]
    pub expected: Option<i64>,
    /// Why (default `adjustment`).
    #[schema(nullable = false, max_length = 200)]
    pub reason: Option<String>,
    /// What was asked, checked.
    #[schema(ignore)]
    pub adjustment: Adjustment,
}

impl FromFields for StockRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let delta = fields.optional::<i64>("delta");
        let set = fields.optional::<i64>("set");
        let expected = fields.optional::<i64>("expected");
        let reason = fields.optional_nonblank_text("reason", 200);
        if fields.contains("delta") == fields.contains("set") {
            fields.error(
                crate::http::error::NON_FIELD_ERRORS,
                "Give either delta, or set with expected.",
            );
        }
        if delta == Some(0) {
            fields.error("delta", "Ensure this value is not 0.");
        }
        if delta.is_some_and(|d| !(-MAX_STOCK..=MAX_STOCK).contains(&d)) {
            fields.error(
                "delta",
                format!("Ensure the magnitude is at most {MAX_STOCK}."),
            );
        }
        if set.is_some_and(|v| !(0..=MAX_STOCK).contains(&v)) {
            fields.error(
                "set",
                format!("Ensure this value is between 0 and {MAX_STOCK}."),
            );
        }
        if set.is_some() && expected.is_none() {
            fields.error("expected", "This field is required with set.");
        }
        if expected.is_some_and(|v| v < 0) {
            fields.error(
                "expected",
                "Ensure this value is greater than or equal to 0.",
            );
        }
        let adjustment = match (delta, set, expected) {
            (Some(delta), None, _) => Adjustment::Delta(delta),
            (None, Some(value), Some(expected)) => Adjustment::Set { value, expected },
            _ => return None,
        };
        Some(StockRequest {
            delta,
            set,
            expected,
            reason,
            adjustment,
        })
    }
}

/// One change of a product's stock.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    pub id: i64,
    /// Units added (negative: taken).
    pub delta: i64,
    /// The stock it left.
    pub stock_after: i64,
    /// `order`, `cancellation`, `expiry`, `product edit`, or the text staff gave.
    pub reason: String,
    /// What caused it: `order:42`, `user:7`.
    pub reference: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<stock_movement::Model> for MovementView {
    fn from(m: stock_movement::Model) -> MovementView {
        MovementView {
            id: m.id,
            delta: m.delta,
            stock_after: m.stock_after,
            reason: m.reason,
            reference: m.reference,
            created_at: m.created_at,
        }
    }
}
