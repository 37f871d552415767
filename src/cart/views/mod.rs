//! Request and response types of `/api/cart/`, with their OpenAPI schemas.

pub mod shipping;

use axum::extract::{FromRef, FromRequest, Request};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::service::{PricedCart, PricedLine, Target};
use crate::accounts::postal::ShippingAddress;
use crate::catalog::variants::views::VariantSummary;
use crate::catalog::views::ProductSummary;
use crate::coupons::views::CODE_MAX;
use crate::http::error::ApiError;
use crate::http::extract::{FieldValue, Fields, FromFields, JsonObject};
use crate::money::Currency;
use crate::state::AppState;
use crate::storage::Storage;
use crate::tax::lines::TaxLineView;
use shipping::ShippingMethodView;

/// A line of the cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartLineView {
    pub product: ProductSummary,
    /// The variant the line is of (a product without options has one, with `options` `{}`).
    pub variant: VariantSummary,
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
    /// The address chosen with `PUT /api/cart/shipping/`, else null.
    pub shipping_address: Option<ShippingAddress>,
    /// The chosen method as it applies now, else null.
    pub shipping_method: Option<ShippingMethodView>,
    /// Why the chosen method was dropped (deactivated, the cart now too heavy for it, the
    /// address no longer covered), else null.
    pub shipping_message: Option<String>,
    /// What shipping costs, null until a method is chosen.
    #[schema(example = "4.99")]
    pub shipping: Option<String>,
    /// The tax (added, or contained when prices include it); null before a destination is
    /// chosen (with tax-inclusive prices: the shop's own country's).
    #[schema(example = "3.70")]
    pub tax: Option<String>,
    /// The tax by name and rate, shipping's included; they add up to `tax`.
    pub tax_lines: Vec<TaxLineView>,
    /// Whether prices contain their tax (`EMPORIUM_PRICES_INCLUDE_TAX`).
    pub prices_include_tax: bool,
    /// `subtotal − discount + shipping + tax` (tax only when prices exclude it).
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
            variant: VariantSummary::new(&line.variant),
            quantity: line.quantity,
            unit_price: line.unit_price.format(currency),
            subtotal: line.subtotal.format(currency),
            available: line.problem.is_none(),
            message: line.problem,
        };
        let quote = cart.quote.as_ref();
        let money = |minor: i64| crate::money::Money::from_minor(minor).format(currency);
        CartView {
            shipping_address: quote.and_then(|q| q.address.clone()),
            shipping_method: quote
                .and_then(|q| q.shipping.as_ref())
                .map(|s| ShippingMethodView::new(s, currency)),
            shipping_message: quote
                .and_then(|q| q.dropped)
                .map(|d| d.message().to_owned()),
            shipping: quote.and_then(|q| q.priced.shipping).map(money),
            tax: quote.and_then(|q| q.priced.tax).map(money),
            tax_lines: quote
                .map(|q| {
                    q.priced
                        .tax_lines
                        .iter()
                        .map(|l| TaxLineView::new(l, currency))
                        .collect()
                })
                .unwrap_or_default(),
            prices_include_tax: quote.is_some_and(|q| q.prices_include_tax),
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

/// Reads `variant_id`, or `product_id` for a single-variant product (both: the variant must
/// be of that product); neither → `product_id` is required.
fn read_target(fields: &mut Fields) -> Option<Target> {
    let variant_id = fields.optional::<i64>("variant_id");
    let product_id = fields.optional::<i64>("product_id");
    if !fields.contains("variant_id") && !fields.contains("product_id") {
        fields.error("product_id", "This field is required.");
        return None;
    }
    if fields.has_error("variant_id") || fields.has_error("product_id") {
        return None;
    }
    Some(Target {
        product_id,
        variant_id,
    })
}

/// `POST /api/cart/add/`: `variant_id`, or `product_id` for a product with one variant.
#[derive(Debug, ToSchema)]
pub struct AddToCart {
    /// A product with one variant; with several, give `variant_id`.
    #[schema(nullable = false)]
    pub product_id: Option<i64>,
    #[schema(nullable = false)]
    pub variant_id: Option<i64>,
    /// Added to what the cart holds; default 1.
    #[schema(nullable = false, minimum = 1, default = 1)]
    pub quantity: Option<i64>,
    #[schema(ignore)]
    pub target: Target,
}

impl FromFields for AddToCart {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let target = read_target(fields);
        let quantity = fields.integer_in("quantity", 1, i64::MAX);
        let target = target?;
        Some(AddToCart {
            product_id: target.product_id,
            variant_id: target.variant_id,
            quantity,
            target,
        })
    }
}

/// `PATCH /api/cart/update/`: the line of `variant_id` (or of a single-variant product's
/// `product_id`).
#[derive(Debug, ToSchema)]
pub struct UpdateCartLine {
    #[schema(nullable = false)]
    pub product_id: Option<i64>,
    #[schema(nullable = false)]
    pub variant_id: Option<i64>,
    /// The new quantity; 0 removes the line.
    #[schema(minimum = 0)]
    pub quantity: i64,
    #[schema(ignore)]
    pub target: Target,
}

impl FromFields for UpdateCartLine {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let target = read_target(fields);
        if !fields.contains("quantity") {
            fields.error("quantity", "This field is required.");
        }
        let quantity = fields.integer_in("quantity", 0, i64::MAX);
        let target = target?;
        Some(UpdateCartLine {
            product_id: target.product_id,
            variant_id: target.variant_id,
            quantity: quantity?,
            target,
        })
    }
}

/// `DELETE /api/cart/remove/`: `variant_id` or `product_id` in the JSON body or the query.
#[derive(Debug, ToSchema)]
pub struct RemoveFromCart {
    #[schema(nullable = false)]
    pub product_id: Option<i64>,
    #[schema(nullable = false)]
    pub variant_id: Option<i64>,
    #[schema(ignore)]
    pub target: Target,
}

/// Moves `?name=` into the body unless the body has it; `true` when the two (or two query
/// values) differ.
fn merge_query(
    map: &mut serde_json::Map<String, Value>,
    query: &[(String, String)],
    name: &str,
) -> bool {
    let in_query: Vec<&String> = query
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, id)| id)
        .collect();
    let mut conflicting = in_query.windows(2).any(|pair| pair[0] != pair[1]);
    if let Some(id) = in_query.first() {
        match map.get(name) {
            None => {
                map.insert(name.to_owned(), Value::String((*id).clone()));
            }
            Some(given) => {
                conflicting |= i64::from_json(given).ok() != id.trim().parse::<i64>().ok();
            }
        }
    }
    conflicting
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
        let mut conflicts = Vec::new();
        for name in ["product_id", "variant_id"] {
            if merge_query(&mut map, &query, name) {
                conflicts.push(name);
            }
        }
        let mut fields = Fields::new(map, currency);
        let target = read_target(&mut fields);
        for name in conflicts {
            fields.error(name, "Given more than once with different values.");
        }
        fields.finish()?;
        let target = target.unwrap_or_default();
        Ok(RemoveFromCart {
            product_id: target.product_id,
            variant_id: target.variant_id,
            target,
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
