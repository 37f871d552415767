//! The cart's shipping: which methods reach a destination, priced for the cart as it is now,
//! and the customer's choice of address and method, checked under the cart's lock (the method
//! must reach the address and take the cart's weight) and kept on the cart.

use sea_orm::DatabaseConnection;

use super::priced::read;
use super::quote::{self, Dropped, Shipping, TaxRules};
use super::service::locked;
use super::store;
use super::views::shipping::{Asked, ChooseShipping};
use crate::accounts::addresses;
use crate::accounts::postal::{self, ShippingAddress};
use crate::cache::ResponseCache;
use crate::http::error::{ApiError, field_error, internal};
use crate::money::Currency;
use crate::time;

/// The active methods that reach what the customer asked about, each priced for their cart
/// now, cheapest first; none when no zone covers it.
pub async fn methods(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    currency: Currency,
    rules: TaxRules<'_>,
    user_id: i64,
    asked: Asked,
) -> Result<Vec<Shipping>, ApiError> {
    let address = match asked {
        Asked::Saved(id) => addresses::address_of(db, user_id, id)
            .await?
            .map(ShippingAddress::from)
            .ok_or_else(|| unknown_address(id))?,
        Asked::Place { country, region } => ShippingAddress {
            country,
            state: region,
            ..ShippingAddress::blank()
        },
    };
    let cart = read(db, cache, currency, rules, user_id).await?;
    let lines: Vec<_> = cart
        .lines
        .iter()
        .filter(|line| line.problem.is_none())
        .map(|line| {
            quote::line(
                &line.product,
                &line.variant,
                line.quantity,
                line.subtotal.minor(),
            )
        })
        .collect();
    Ok(quote::methods_for(db, &lines, cart.discount.minor(), &address).await?)
}

fn unknown_address(id: i64) -> ApiError {
    field_error(
        "address_id",
        format!("Invalid pk \"{id}\" - object does not exist."),
    )
}

/// Chooses where the cart goes and how. The method, when given, must be active, of the zone
/// that reaches the address, and take the cart's weight — else 400 on `method_id`, and
/// nothing changes.
pub async fn choose(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    rules: TaxRules<'_>,
    user_id: i64,
    request: ChooseShipping,
) -> Result<(), ApiError> {
    let (tx, cart) = locked(db, user_id).await?;
    let address = postal::chosen(&tx, user_id, request.choice, "address_id", "address").await?;
    if let Some(method_id) = request.method_id {
        let lines: Vec<_> = store::lines(&tx, cart.id)
            .await?
            .iter()
            .filter(|l| l.product.is_active && l.variant.is_active)
            .filter(|l| l.item.quantity <= l.variant.stock)
            .map(|l| {
                let amount = l.variant.price.saturating_mul(l.item.quantity);
                quote::line(&l.product, &l.variant, l.item.quantity, amount)
            })
            .collect();
        // The weight decides whether a method takes the cart; the discount only its price.
        let quoted = quote::quote(
            cache,
            &tx,
            rules,
            &lines,
            0,
            Some(address.clone()),
            Some(method_id),
        )
        .await?;
        if let Some(dropped) = quoted.dropped {
            let message = match dropped {
                Dropped::Gone => format!("Invalid pk \"{method_id}\" - object does not exist."),
                other => other.message().to_owned(),
            };
            return Err(field_error("method_id", message));
        }
    }
    let copy = serde_json::to_string(&address).map_err(internal)?;
    store::set_shipping(&tx, cart.id, copy, request.method_id, time::now()).await?;
    tx.commit().await?;
    Ok(())
}
