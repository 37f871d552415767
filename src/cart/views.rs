//! Request and response types of `/api/cart/`, with their OpenAPI schemas.

use axum::extract::{FromRef, FromRequest, Request};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::service::{PricedCart, PricedLine};
use crate::catalog::views::ProductSummary;
use crate::coupons::views::CODE_MAX;
use crate::http::error::ApiError;
use crate::http::extract::{FieldValue, Fields, FromFields, JsonObject};
use crate::money::Currency;
use crate::state::AppState;
use crate::storage::Storage;

/// A line of the cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartLineView {
    pub product: ProductSummary,
    pub quantity: i64,
    /// Today's price from the catalog.
    #[schema(example = "19.99")]
    pub unit_price: String,
    #[schema(example = "39.98")]
    pub subtotal: String,
    /// False when the product has become inactive or short of stock: the line stays, and is
    /// left out of the totals.
    pub available: bool,
    /// Why the line is not available (`"Only 3 left in stock."`), else null.
    pub message: Option<String>,
}

/// The cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartView {
    pub items: Vec<CartLineView>,
    /// Units in the available lines.
    pub total_items: i64,
    /// Sum of the available lines.
    #[schema(example = "51.44")]
    pub subtotal: String,
    /// The code of the coupon that applies now, or null.
    pub coupon: Option<String>,
    /// Why the cart's coupon gives no discount now (it expired, was used up, the minimum is
    /// not met), else null. The coupon stays on the cart: it applies again once it can.
    pub coupon_message: Option<String>,
    #[schema(example = "5.14")]
    pub discount: String,
    #[schema(example = "46.30")]
    pub total: String,
    #[schema(example = "USD")]
    pub currency: &'static str,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

impl CartView {
    /// The view of a priced cart; image URLs come from the media store.
    pub fn new(
        cart: PricedCart,
        currency: Currency,
        storage: &Storage,
        base_url: &str,
    ) -> CartView {
        let line = |line: PricedLine| CartLineView {
            product: ProductSummary::new(&line.product, &line.images, currency, storage, base_url),
            quantity: line.quantity,
            unit_price: line.unit_price.format(currency),
            subtotal: line.subtotal.format(currency),
            available: line.problem.is_none(),
            message: line.problem,
        };
        CartView {
            items: cart.lines.into_iter().map(line).collect(),
            total_items: cart.total_items,
            subtotal: cart.subtotal.format(currency),
            coupon: cart.coupon,
            coupon_message: cart.coupon_message,
            discount: cart.discount.format(currency),
            total: cart.total.format(currency),
            currency: currency.code(),
            updated_at: cart.updated_at,
        }
    }
}

/// `POST /api/cart/add/`.
#[derive(Debug, ToSchema)]
pub struct AddToCart {
    pub product_id: i64,
    /// Added to what the cart holds; default 1.
    #[schema(nullable = false, minimum = 1, default = 1)]
    pub quantity: Option<i64>,
}

impl FromFields for AddToCart {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let product_id = fields.required::<i64>("product_id");
        let quantity = fields.integer_in("quantity", 1, i64::MAX);
        Some(AddToCart {
            product_id: product_id?,
            quantity,
        })
    }
}

/// `PATCH /api/cart/update/`.
#[derive(Debug, ToSchema)]
pub struct UpdateCartLine {
    pub product_id: i64,
    /// The new quantity; 0 removes the line.
    #[schema(minimum = 0)]
    pub quantity: i64,
}

impl FromFields for UpdateCartLine {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let product_id = fields.required::<i64>("product_id");
        if !fields.contains("quantity") {
            fields.error("quantity", "This field is required.");
        }
        let quantity = fields.integer_in("quantity", 0, i64::MAX);
        Some(UpdateCartLine {
            product_id: product_id?,
            quantity: quantity?,
        })
    }
}

/// `DELETE /api/cart/remove/`: `product_id` in the JSON body or as `?product_id=`.
#[derive(Debug, ToSchema)]
pub struct RemoveFromCart {
    pub product_id: i64,
}

impl<S> FromRequest<S> for RemoveFromCart
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let currency = AppState::from_ref(state).settings.currency;
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(request.uri().query().unwrap_or("")).unwrap_or_default();
        let JsonObject(mut map) = JsonObject::from_request(request, state).await?;
        let in_query: Vec<String> = query
            .into_iter()
            .filter(|(name, _)| name == "product_id")
            .map(|(_, id)| id)
            .collect();
        let mut conflicting = in_query.windows(2).any(|pair| pair[0] != pair[1]);
        if let Some(id) = in_query.first() {
            match map.get("product_id") {
                None => {
                    map.insert("product_id".to_owned(), Value::String(id.clone()));
                }
                Some(given) => {
                    conflicting |= i64::from_json(given).ok() != id.trim().parse::<i64>().ok();
                }
            }
        }
        let mut fields = Fields::new(map, currency);
        let product_id = fields.required::<i64>("product_id");
        if conflicting {
            fields.error("product_id", "Given more than once with different values.");
        }
        fields.finish()?;
        Ok(RemoveFromCart {
            product_id: product_id.unwrap_or_default(),
        })
    }
}

/// `POST /api/cart/coupon/`.
#[derive(Debug, ToSchema)]
pub struct ApplyCoupon {
    /// Matched whatever the case.
    #[schema(min_length = 1, max_length = 50)]
    pub code: String,
}

impl FromFields for ApplyCoupon {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        Some(ApplyCoupon {
            code: fields.required_text("code", CODE_MAX)?,
        })
    }
}
