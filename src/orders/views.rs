//! Request and response types of `/api/orders/`, with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::status::{OrderStatus, PaymentStatus};
use super::{order, order_item};
pub use crate::accounts::postal::{AddressChoice, ShippingAddress};
use crate::accounts::views::AddressRequest;
use crate::coupons::views::CODE_MAX;
use crate::http::extract::{Fields, FromFields};
use crate::money::{Currency, Money};

/// A line of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderItemView {
    /// Null once the product was deleted.
    pub product_id: Option<i64>,
    pub product_name: String,
    /// Null once the variant was deleted (with its product).
    pub variant_id: Option<i64>,
    /// The variant's SKU when the order was placed.
    pub sku: Option<String>,
    /// The variant's options when the order was placed (`{}` without options).
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub variant_options: serde_json::Map<String, serde_json::Value>,
    /// The unit price when the order was placed; it never changes.
    #[schema(example = "19.99")]
    pub price_snapshot: String,
    pub quantity: i64,
    #[schema(example = "39.98")]
    pub subtotal: String,
}

/// An order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    /// A UUID.
    pub id: String,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub items: Vec<OrderItemView>,
    #[schema(example = "51.44")]
    pub subtotal: String,
    #[schema(example = "5.14")]
    pub discount: String,
    #[schema(example = "46.30")]
    pub total_amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    /// The coupon's code, or null.
    pub coupon: Option<String>,
    pub shipping_address: ShippingAddress,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

impl OrderView {
    /// The view of an order and its lines. Amounts are formatted in the order's own currency
    /// (the shop's when it was placed).
    pub fn new(order: order::Model, items: Vec<order_item::Model>) -> OrderView {
        let currency = Currency::from_code(&order.currency).unwrap_or(Currency::USD);
        let money = |minor: i64| Money::from_minor(minor).format(currency);
        let shipping_address = serde_json::from_str(&order.shipping_address)
            .unwrap_or_else(|_| ShippingAddress::blank());
        OrderView {
            items: items
                .into_iter()
                .map(|item| OrderItemView {
                    product_id: item.product_id,
                    product_name: item.product_name,
                    variant_id: item.variant_id,
                    sku: item.sku,
                    variant_options: item
                        .variant_options
                        .as_deref()
                        .and_then(|text| serde_json::from_str(text).ok())
                        .unwrap_or_default(),
                    price_snapshot: money(item.price_snapshot),
                    quantity: item.quantity,
                    subtotal: money(item.subtotal),
                })
                .collect(),
            subtotal: money(order.subtotal),
            discount: money(order.discount),
            total_amount: money(order.total_amount),
            id: order.id,
            status: order.status,
            payment_status: order.payment_status,
            currency: order.currency,
            coupon: order.coupon,
            shipping_address,
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }
}

/// `POST /api/orders/create/`: the cart becomes the order.
#[derive(Debug, ToSchema)]
pub struct CreateOrder {
    /// One of the user's addresses. Without it and without `shipping_address`, the default
    /// address is used.
    #[schema(nullable = false)]
    pub shipping_address_id: Option<i64>,
    /// An address for this order only (the fields of an address-book entry).
    #[schema(value_type = Option<AddressRequest>, nullable = false)]
    pub shipping_address: Option<ShippingAddress>,
    /// A coupon for this order; without it the cart's coupon is used if it applies.
    #[schema(nullable = false, min_length = 1, max_length = 50)]
    pub coupon_code: Option<String>,
}

impl CreateOrder {
    /// The address the request chose.
    pub fn address(&self) -> AddressChoice {
        match (&self.shipping_address_id, &self.shipping_address) {
            (_, Some(given)) => AddressChoice::Given(given.clone()),
            (Some(id), None) => AddressChoice::Saved(*id),
            (None, None) => AddressChoice::Default,
        }
    }

    /// The request in a canonical form, for its idempotency hash.
    pub fn canonical(&self) -> serde_json::Value {
        serde_json::json!({
            "address": self.address(),
            "coupon_code": self.coupon_code.as_deref().map(str::to_lowercase),
        })
    }
}

impl FromFields for CreateOrder {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let shipping_address_id = fields.optional::<i64>("shipping_address_id");
        let shipping_address = fields
            .nested::<AddressRequest>("shipping_address")
            .map(ShippingAddress::from);
        if fields.contains("shipping_address_id") && fields.contains("shipping_address") {
            fields.error(
                "non_field_errors",
                "Give shipping_address_id or shipping_address, not both.",
            );
        }
        let coupon_code = fields.optional_nonblank_text("coupon_code", CODE_MAX);
        Some(CreateOrder {
            shipping_address_id,
            shipping_address,
            coupon_code,
        })
    }
}

/// `PATCH /api/orders/{id}/status/` (staff).
#[derive(Debug, ToSchema)]
pub struct StatusChange {
    /// `SHIPPED` (from `PAID`) or `DELIVERED` (from `SHIPPED`).
    pub status: OrderStatus,
}

impl FromFields for StatusChange {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let name = fields.required::<String>("status")?;
        match OrderStatus::parse(&name) {
            Some(status) => Some(StatusChange { status }),
            None => {
                fields.error("status", format!("\"{name}\" is not a valid choice."));
                None
            }
        }
    }
}
