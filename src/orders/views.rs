//! Request and response types of `/api/orders/`, with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::charges;
use super::status::{OrderStatus, PaymentStatus};
use super::{order, order_item};
pub use crate::accounts::postal::{AddressChoice, ShippingAddress};
use crate::accounts::views::AddressRequest;
use crate::coupons::views::CODE_MAX;
use crate::http::extract::{Fields, FromFields};
use crate::money::{Currency, Money};
use crate::tax::lines::TaxLineView;
use crate::tax::pricing::format_rate;

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
    /// The line's tax rate as placed (a percentage; `"0.00"`: untaxed).
    #[schema(example = "20.00")]
    pub tax_rate: String,
    /// The line's tax as placed, on its amount after its share of the discount.
    #[schema(example = "6.66")]
    pub tax_amount: String,
}

/// The shipping method as the order keeps it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderShippingMethod {
    #[schema(example = "Standard")]
    pub name: String,
    #[schema(example = "4.99")]
    pub price: String,
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
    /// What shipping cost (`"0.00"`: free).
    #[schema(example = "4.99")]
    pub shipping_amount: String,
    /// The tax: added to the total, or contained in it when `prices_include_tax`.
    #[schema(example = "9.26")]
    pub tax_amount: String,
    /// The tax by name and rate, shipping's included; they add up to `tax_amount`.
    pub tax_lines: Vec<TaxLineView>,
    pub prices_include_tax: bool,
    /// The method it ships by, as placed (null: the shop shipped free without one).
    pub shipping_method: Option<OrderShippingMethod>,
    /// What the order charges: `subtotal − discount + shipping_amount + tax_amount` (tax only
    /// when prices exclude it); the payment is for this amount.
    #[schema(example = "46.30")]
    pub total_amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    /// The coupon's code, or null.
    pub coupon: Option<String>,
    pub shipping_address: ShippingAddress,
    /// Who carries it (given when it shipped), or null.
    pub carrier: Option<String>,
    /// Its tracking number (given when it shipped), or null.
    pub tracking_number: Option<String>,
    /// When staff marked it shipped, or null.
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>)]
    pub shipped_at: Option<DateTime<Utc>>,
    /// When staff marked it delivered, or null.
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>)]
    pub delivered_at: Option<DateTime<Utc>>,
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
                    tax_rate: format_rate(item.tax_rate),
                    tax_amount: money(item.tax_amount),
                })
                .collect(),
            subtotal: money(order.subtotal),
            discount: money(order.discount),
            shipping_amount: money(order.shipping_amount),
            tax_amount: money(order.tax_amount),
            tax_lines: charges::tax_lines(order.tax_lines.as_deref())
                .iter()
                .map(|line| TaxLineView::new(line, currency))
                .collect(),
            prices_include_tax: order.prices_include_tax,
            shipping_method: order.shipping_method_name.map(|name| OrderShippingMethod {
                name,
                price: money(order.shipping_amount),
            }),
            total_amount: money(order.total_amount),
            id: order.id,
            status: order.status,
            payment_status: order.payment_status,
            currency: order.currency,
            coupon: order.coupon,
            shipping_address,
            carrier: order.carrier,
            tracking_number: order.tracking_number,
            shipped_at: order.shipped_at,
            delivered_at: order.delivered_at,
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
    /// A shipping method for this order; without it the cart's chosen method is used.
    #[schema(nullable = false)]
    pub shipping_method_id: Option<i64>,
}

impl CreateOrder {
    /// The address the request chose (`Default`: none — the cart's, else the user's default).
    pub fn address(&self) -> AddressChoice {
        match (&self.shipping_address_id, &self.shipping_address) {
            (_, Some(given)) => AddressChoice::Given(given.clone()),
            (Some(id), None) => AddressChoice::Saved(*id),
            (None, None) => AddressChoice::Default,
        }
    }

    /// The request in a canonical form, for its idempotency hash.
    pub fn canonical(&self) -> serde_json::Value {
        let mut canonical = serde_json::json!({
            "address": self.address(),
            "coupon_code": self.coupon_code.as_deref().map(str::to_lowercase),
        });
        // Only when given: a key stored before the field existed hashes as it did.
        if let (Some(id), Some(map)) = (self.shipping_method_id, canonical.as_object_mut()) {
            map.insert("shipping_method_id".to_owned(), id.into());
        }
        canonical
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
        let shipping_method_id = fields.optional::<i64>("shipping_method_id");
        Some(CreateOrder {
            shipping_address_id,
            shipping_address,
            coupon_code,
            shipping_method_id,
        })
    }
}

/// `PATCH /api/orders/{id}/status/` (staff).
#[derive(Debug, ToSchema)]
pub struct StatusChange {
    /// `SHIPPED` (from `PAID`) or `DELIVERED` (from `SHIPPED`).
    pub status: OrderStatus,
    /// With `SHIPPED` only: who carries it.
    #[schema(nullable = false, min_length = 1, max_length = 60, pattern = r"\S")]
    pub carrier: Option<String>,
    /// With `SHIPPED` only: its tracking number, emailed to the customer.
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    pub tracking_number: Option<String>,
}

/// The longest carrier name and tracking number an order keeps.
pub const CARRIER_MAX: usize = 60;
pub const TRACKING_MAX: usize = 100;

impl FromFields for StatusChange {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let name = fields.required::<String>("status");
        let carrier = fields.optional_nonblank_text("carrier", CARRIER_MAX);
        let tracking_number = fields.optional_nonblank_text("tracking_number", TRACKING_MAX);
        let status = match OrderStatus::parse(name.as_deref()?) {
            Some(status) => status,
            None => {
                let name = name.unwrap_or_default();
                fields.error("status", format!("\"{name}\" is not a valid choice."));
                return None;
            }
        };
        if status != OrderStatus::Shipped {
            for (field, given) in [
                ("carrier", carrier.is_some()),
                ("tracking_number", tracking_number.is_some()),
            ] {
                if given {
                    fields.error(field, "Only given when the order ships.");
                }
            }
        }
        Some(StatusChange {
            status,
            carrier,
            tracking_number,
        })
    }
}
