//! Tax lines as the API shows them, in a cart and in an order.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::pricing::{TaxLine, format_rate};
use crate::money::{Currency, Money};

/// The tax at one name and rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TaxLineView {
    #[schema(example = "VAT")]
    pub name: String,
    /// A percentage.
    #[schema(example = "20.00")]
    pub rate: String,
    #[schema(example = "3.33")]
    pub amount: String,
}

impl TaxLineView {
    /// The view of `line` in `currency`.
    pub fn new(line: &TaxLine, currency: Currency) -> TaxLineView {
        TaxLineView {
            name: line.name.clone(),
            rate: format_rate(line.rate),
            amount: Money::from_minor(line.amount).format(currency),
        }
    }
}
