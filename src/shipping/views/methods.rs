//! Request and response types of `/api/shipping/methods/`, with their OpenAPI schemas.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{BANDS_MAX, DAYS_MAX, GRAMS_MAX, NAME_MAX, python_type};
use crate::http::extract::{Fields, FromFields};
use crate::money::{Currency, Money};
use crate::shipping::method::{self, MethodKind};
use crate::shipping::rules::{Band, parse_bands};
use crate::tax::classes;

/// A weight band as staff see it: carts up to and including `up_to_grams` pay `price`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BandView {
    #[schema(example = 1000)]
    pub up_to_grams: i64,
    #[schema(example = "4.50")]
    pub price: String,
}

/// A shipping method as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodView {
    pub id: i64,
    /// The zone's id.
    pub zone: i64,
    #[schema(example = "Standard")]
    pub name: String,
    pub kind: MethodKind,
    /// A `flat` method's price (null for `weight`).
    #[schema(example = "5.00")]
    pub price: Option<String>,
    /// A `weight` method's bands, lightest first (null for `flat`).
    #[schema(required = true)]
    pub rates: Option<Vec<BandView>>,
    /// A subtotal after discount at or above which it ships free (null: never free).
    #[schema(example = "50.00")]
    pub free_over: Option<String>,
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
    pub is_active: bool,
    #[schema(example = "standard")]
    pub tax_class: String,
    /// The shop's currency, which every amount is in.
    #[schema(example = "USD")]
    pub currency: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

impl MethodView {
    /// The view of `row` in the shop's currency.
    pub fn new(row: method::Model, currency: Currency) -> MethodView {
        let money = |minor: i64| Money::from_minor(minor).format(currency);
        let rates = row.rates.as_deref().and_then(parse_bands).map(|bands| {
            bands
                .into_iter()
                .map(|band| BandView {
                    up_to_grams: band.up_to_grams,
                    price: money(band.price),
                })
                .collect()
        });
        MethodView {
            id: row.id,
            zone: row.zone_id,
            name: row.name,
            kind: row.kind,
            price: row.price.map(money),
            rates,
            free_over: row.free_over.map(money),
            min_days: row.min_days,
            max_days: row.max_days,
            is_active: row.is_active,
            tax_class: row.tax_class,
            currency: currency.code().to_owned(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The fields of a method as a request gives them (`None`: not given; `Some(None)`: null).
#[derive(Clone, Debug, Default)]
pub struct MethodInput {
    pub zone: Option<i64>,
    pub name: Option<String>,
    pub kind: Option<MethodKind>,
    pub price: Option<Option<Money>>,
    /// Bands, strictly increasing.
    pub rates: Option<Option<Vec<Band>>>,
    pub free_over: Option<Option<Money>>,
    pub min_days: Option<Option<i64>>,
    pub max_days: Option<Option<i64>>,
    pub is_active: Option<bool>,
    pub tax_class: Option<String>,
}

/// A method kind by its name.
pub fn parse_kind(name: &str) -> Option<MethodKind> {
    match name {
        "flat" => Some(MethodKind::Flat),
        "weight" => Some(MethodKind::Weight),
        _ => None,
    }
}

/// A weight band as a request gives it.
#[derive(Clone, Copy, Debug, ToSchema)]
pub struct BandRequest {
    /// Inclusive; each band's is greater than the one before.
    #[schema(minimum = 1, maximum = 1_000_000_000, example = 1000)]
    pub up_to_grams: i64,
    #[schema(value_type = String, example = "4.50", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub price: Money,
}

impl FromFields for BandRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        for name in ["up_to_grams", "price"] {
            if !fields.contains(name) {
                fields.error(name, "This field is required.");
            }
        }
        let up_to_grams = fields.integer_in("up_to_grams", 1, GRAMS_MAX);
        let price = fields.money("price");
        Some(BandRequest {
            up_to_grams: up_to_grams?,
            price: price?,
        })
    }
}

/// `rates`: 1 to [`BANDS_MAX`] bands, `up_to_grams` strictly increasing. A band's own problems
/// read `{"rates": {"1": ["price: …"]}}`, as a product's variants do.
fn read_bands(fields: &mut Fields) -> Option<Option<Vec<Band>>> {
    let value = fields.nullable::<Value>("rates")?;
    let Some(value) = value else {
        return Some(None);
    };
    let Value::Array(items) = value else {
        fields.error(
            "rates",
            format!(
                "Expected a list of items but got type \"{}\".",
                python_type(&value)
            ),
        );
        return None;
    };
    if items.is_empty() || items.len() > BANDS_MAX {
        fields.error("rates", format!("Give 1 to {BANDS_MAX} weight bands."));
        return None;
    }
    let mut bands = Vec::with_capacity(items.len());
    let mut good = true;
    for (at, item) in items.into_iter().enumerate() {
        let Value::Object(map) = item else {
            fields.error(
                &format!("rates.{at}"),
                "Expected an object with up_to_grams and price.",
            );
            good = false;
            continue;
        };
        let mut inner = Fields::new(map, fields.currency());
        let band = BandRequest::from_fields(&mut inner);
        match (inner.finish(), band) {
            (Ok(()), Some(band)) => bands.push(Band {
                up_to_grams: band.up_to_grams,
                price: band.price.minor(),
            }),
            (Err(crate::http::error::ApiError::Validation(errors)), _) => {
                good = false;
                for (name, messages) in errors.in_list("rates", at).entries() {
                    for message in messages {
                        fields.error(name, message.clone());
                    }
                }
            }
            _ => {
                good = false;
                fields.error(&format!("rates.{at}"), "Invalid band.");
            }
        }
    }
    if !good {
        return None;
    }
    if bands
        .windows(2)
        .any(|pair| pair[1].up_to_grams <= pair[0].up_to_grams)
    {
        fields.error(
            "rates",
            "Each band's up_to_grams must be greater than the one before.",
        );
        return None;
    }
    Some(Some(bands))
}

/// The bands given, as their request type (for the documented fields).
fn band_requests(rates: &Option<Option<Vec<Band>>>) -> Option<Vec<BandRequest>> {
    let bands = rates.as_ref()?.as_ref()?;
    Some(
        bands
            .iter()
            .map(|band| BandRequest {
                up_to_grams: band.up_to_grams,
                price: Money::from_minor(band.price),
            })
            .collect(),
    )
}

/// A nullable amount of money ≥ 0.
fn nullable_money(fields: &mut Fields, name: &str) -> Option<Option<Money>> {
    match fields.nullable::<Value>(name)? {
        None => Some(None),
        Some(_) => fields.money(name).map(Some),
    }
}

fn read_method(fields: &mut Fields, partial: bool) -> MethodInput {
    let zone = fields.given::<i64>("zone", partial);
    let name = fields.given_text("name", NAME_MAX, partial);
    let kind_name = fields.given::<String>("kind", partial);
    let kind = kind_name.and_then(|name| {
        let kind = parse_kind(name.trim());
        if kind.is_none() {
            fields.error("kind", format!("\"{name}\" is not a valid choice."));
        }
        kind
    });
    let price = nullable_money(fields, "price");
    let rates = read_bands(fields);
    let free_over = nullable_money(fields, "free_over");
    let min_days = fields.nullable_integer_in("min_days", 0, DAYS_MAX);
    let max_days = fields.nullable_integer_in("max_days", 0, DAYS_MAX);
    let is_active = fields.optional::<bool>("is_active");
    let tax_class = fields
        .optional::<String>("tax_class")
        .map(|class| class.trim().to_owned());
    if let Some(problem) = tax_class.as_deref().and_then(classes::problem) {
        fields.error("tax_class", problem);
    }
    MethodInput {
        zone,
        name,
        kind,
        price,
        rates,
        free_over,
        min_days,
        max_days,
        is_active,
        tax_class,
    }
}

/// `POST /api/shipping/methods/`.
#[derive(Debug, ToSchema)]
pub struct MethodRequest {
    /// The zone's id.
    pub zone: i64,
    #[schema(min_length = 1, max_length = 100, example = "Standard")]
    pub name: String,
    pub kind: MethodKind,
    /// Required for `flat` (≥ 0); absent or null for `weight`.
    #[schema(value_type = Option<String>, example = "5.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub price: Option<Money>,
    /// Required for `weight`: 1–50 bands, `up_to_grams` strictly increasing; absent or null for
    /// `flat`.
    #[schema(max_items = 50, min_items = 1)]
    pub rates: Option<Vec<BandRequest>>,
    /// ≥ 0; null or absent: never free.
    #[schema(value_type = Option<String>, example = "50.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub free_over: Option<Money>,
    #[schema(minimum = 0, maximum = 365)]
    pub min_days: Option<i64>,
    /// At least `min_days`.
    #[schema(minimum = 0, maximum = 365)]
    pub max_days: Option<i64>,
    /// Default true.
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    /// Default `standard`: 1–32 of `a–z 0–9 - _`.
    #[schema(nullable = false, pattern = r"^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    #[schema(ignore)]
    pub input: MethodInput,
}

impl FromFields for MethodRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_method(fields, false);
        Some(MethodRequest {
            zone: input.zone?,
            name: input.name.clone()?,
            kind: input.kind?,
            price: input.price.flatten(),
            rates: band_requests(&input.rates),
            free_over: input.free_over.flatten(),
            min_days: input.min_days.flatten(),
            max_days: input.max_days.flatten(),
            is_active: input.is_active,
            tax_class: input.tax_class.clone(),
            input,
        })
    }
}

/// `PATCH /api/shipping/methods/{id}/`: any of the fields; a new `kind` comes with its `price`
/// or `rates` (the other is cleared).
#[derive(Debug, ToSchema)]
pub struct MethodChanges {
    #[schema(nullable = false)]
    pub zone: Option<i64>,
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub kind: Option<MethodKind>,
    #[schema(value_type = Option<String>, example = "5.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub price: Option<Money>,
    #[schema(max_items = 50, min_items = 1)]
    pub rates: Option<Vec<BandRequest>>,
    #[schema(value_type = Option<String>, example = "50.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub free_over: Option<Money>,
    #[schema(minimum = 0, maximum = 365)]
    pub min_days: Option<i64>,
    #[schema(minimum = 0, maximum = 365)]
    pub max_days: Option<i64>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(nullable = false, pattern = r"^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    #[schema(ignore)]
    pub input: MethodInput,
}

impl FromFields for MethodChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_method(fields, true);
        Some(MethodChanges {
            zone: input.zone,
            name: input.name.clone(),
            kind: input.kind,
            price: input.price.flatten(),
            rates: band_requests(&input.rates),
            free_over: input.free_over.flatten(),
            min_days: input.min_days.flatten(),
            max_days: input.max_days.flatten(),
            is_active: input.is_active,
            tax_class: input.tax_class.clone(),
            input,
        })
    }
}
