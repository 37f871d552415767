//! The cart's shipping: the chosen method as the cart shows it, the methods that reach a
//! destination, and the requests that choose them — with their OpenAPI schemas.

use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::accounts::postal::{AddressChoice, ShippingAddress};
use crate::accounts::views::{AddressRequest, is_country};
use crate::cart::quote::Shipping;
use crate::http::extract::{Fields, FromFields};
use crate::money::{Currency, Money};

/// A shipping method as a customer sees it, priced for their cart.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingMethodView {
    pub id: i64,
    #[schema(example = "Standard")]
    pub name: String,
    /// What it charges this cart now (`"0.00"` over its free threshold).
    #[schema(example = "4.99")]
    pub price: String,
    /// Days to deliver, at least and at most (null: not said).
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
}

impl ShippingMethodView {
    /// The view of a method with its price for the cart.
    pub fn new(shipping: &Shipping, currency: Currency) -> ShippingMethodView {
        ShippingMethodView {
            id: shipping.method.id,
            name: shipping.method.name.clone(),
            price: Money::from_minor(shipping.price).format(currency),
            min_days: shipping.method.min_days,
            max_days: shipping.method.max_days,
        }
    }
}

/// `PUT /api/cart/shipping/`: where the cart goes (`address_id`, one of the user's addresses,
/// or `address`, given whole) and how (`method_id`; null or absent: the address only, which
/// shows its tax).
#[derive(Debug, ToSchema)]
pub struct ChooseShipping {
    #[schema(nullable = false)]
    pub address_id: Option<i64>,
    #[schema(value_type = Option<AddressRequest>, nullable = false)]
    pub address: Option<ShippingAddress>,
    pub method_id: Option<i64>,
    #[schema(ignore)]
    pub choice: AddressChoice,
}

impl FromFields for ChooseShipping {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let address_id = fields.optional::<i64>("address_id");
        let address = fields
            .nested::<AddressRequest>("address")
            .map(ShippingAddress::from);
        let method_id = fields.nullable::<i64>("method_id").flatten();
        let both = fields.contains("address_id") && fields.contains("address");
        let neither = !fields.contains("address_id") && !fields.contains("address");
        if both {
            fields.error("non_field_errors", "Give address_id or address, not both.");
        } else if neither {
            fields.error("address_id", "Give address_id or address.");
        }
        let choice = match (address_id, &address) {
            (_, Some(given)) => AddressChoice::Given(given.clone()),
            (Some(id), None) => AddressChoice::Saved(id),
            (None, None) => return None,
        };
        Some(ChooseShipping {
            address_id,
            address,
            method_id,
            choice,
        })
    }
}

/// `GET /api/cart/shipping-methods/`: one of the user's addresses, or a country (and region).
#[derive(Debug, Default, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DestinationQuery {
    /// One of the user's addresses.
    #[param(value_type = Option<i64>)]
    pub address_id: Option<String>,
    /// ISO 3166 alpha-2, without `address_id`.
    pub country: Option<String>,
    /// As an address's `state` (optional).
    pub region: Option<String>,
}

/// Where the customer asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asked {
    Saved(i64),
    Place { country: String, region: String },
}

impl DestinationQuery {
    /// The destination asked about, or the 400 field errors.
    pub fn asked(&self) -> Result<Asked, (&'static str, &'static str)> {
        match (&self.address_id, &self.country) {
            (Some(_), Some(_)) => {
                Err(("non_field_errors", "Give address_id or country, not both."))
            }
            (Some(id), None) => id
                .trim()
                .parse::<i64>()
                .map(Asked::Saved)
                .map_err(|_| ("address_id", "A valid integer is required.")),
            (None, Some(country)) => {
                let country = country.trim().to_ascii_uppercase();
                if !is_country(&country) {
                    return Err(("country", "Enter an ISO 3166 alpha-2 country code."));
                }
                let region = self.region.as_deref().unwrap_or("").trim();
                if region.chars().count() > 100 {
                    return Err((
                        "region",
                        "Ensure this field has no more than 100 characters.",
                    ));
                }
                Ok(Asked::Place {
                    country,
                    region: region.to_owned(),
                })
            }
            (None, None) => Err(("country", "Give address_id, or country and region.")),
        }
    }
}
