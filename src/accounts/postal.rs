//! A postal address as an order or a cart keeps it — a copy, so editing the address book later
//! changes neither — and how a request chooses one: from the address book, given whole, or the
//! user's default.

use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::address;
use super::addresses;
use super::views::AddressRequest;
use crate::http::error::{ApiError, field_error};

/// The shipping address as the order keeps it: a copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingAddress {
    pub full_name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub phone: Option<String>,
}

impl From<address::Model> for ShippingAddress {
    fn from(a: address::Model) -> ShippingAddress {
        ShippingAddress {
            full_name: a.full_name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            state: a.state,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }
    }
}

impl From<AddressRequest> for ShippingAddress {
    fn from(a: AddressRequest) -> ShippingAddress {
        ShippingAddress {
            full_name: a.full_name,
            line1: a.line1,
            line2: a.line2.unwrap_or_default(),
            city: a.city,
            state: a.state.unwrap_or_default(),
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }
    }
}

/// Where an order goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum AddressChoice {
    /// One of the user's addresses (copied into the order).
    Saved(i64),
    /// An address given with the order.
    Given(ShippingAddress),
    /// The user's default address.
    Default,
}

impl ShippingAddress {
    /// An address with every field empty (what a stored copy that cannot be read shows).
    pub fn blank() -> ShippingAddress {
        ShippingAddress {
            full_name: String::new(),
            line1: String::new(),
            line2: String::new(),
            city: String::new(),
            state: String::new(),
            postal_code: String::new(),
            country: String::new(),
            phone: None,
        }
    }
}

/// The address `choice` names, copied. A saved address that is not the user's → 400 under
/// `id_field`; no default → 400 under `address_field`.
pub async fn chosen<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    choice: AddressChoice,
    id_field: &str,
    address_field: &str,
) -> Result<ShippingAddress, ApiError> {
    match choice {
        AddressChoice::Given(address) => Ok(address),
        AddressChoice::Saved(id) => addresses::address_of(conn, user_id, id)
            .await?
            .map(ShippingAddress::from)
            .ok_or_else(|| {
                field_error(
                    id_field,
                    format!("Invalid pk \"{id}\" - object does not exist."),
                )
            }),
        AddressChoice::Default => addresses::default_address_of(conn, user_id)
            .await?
            .map(ShippingAddress::from)
            .ok_or_else(|| {
                field_error(
                    address_field,
                    format!("Give {address_field} or {id_field}: you have no default address."),
                )
            }),
    }
}
