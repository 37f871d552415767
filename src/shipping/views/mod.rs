//! Request and response types of `/api/shipping/zones/` (and, in [`methods`],
//! `/api/shipping/methods/`), with their OpenAPI schemas. Reading a body checks each field on its own; the rules that span
//! fields or need the stored row (a region's country among the zone's countries, a kind with
//! its price or rates, `min_days` ≤ `max_days`) are the service's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::accounts::views::is_country;
use crate::http::extract::{Fields, FromFields, text_problem};
use crate::shipping::reach::region_key;
use crate::shipping::{zone, zone_area};

pub mod methods;
pub use methods::{
    BandRequest, BandView, MethodChanges, MethodInput, MethodRequest, MethodView, parse_kind,
};

/// Longest zone or method name, and longest region.
pub const NAME_MAX: usize = 100;
/// Longest region, as written and as its key.
pub const REGION_MAX: usize = 100;
/// Most regions one country of a zone may be narrowed to.
pub const REGIONS_MAX: usize = 500;
/// Most weight bands of a method.
pub const BANDS_MAX: usize = 50;
/// Heaviest band limit (1,000 tonnes, as the heaviest variant).
pub const GRAMS_MAX: i64 = 1_000_000_000;
/// Longest delivery estimate, in days.
pub const DAYS_MAX: i64 = 365;

/// The type name DRF puts in "Expected a list of items but got type …" (Python's).
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

// ---------------------------------------------------------------------------------------------
// Zones

/// A shipping zone as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneView {
    pub id: i64,
    #[schema(example = "North America")]
    pub name: String,
    /// ISO 3166 alpha-2 codes in the order given, the narrowed countries included.
    #[schema(example = json!(["US", "CA"]))]
    pub countries: Vec<String>,
    /// The countries the zone covers only in part, each with its regions as written (matched
    /// against an address's `state` whatever the case); `{}` when it covers every country whole.
    #[schema(example = json!({"US": ["AK", "HI"]}))]
    pub regions: BTreeMap<String, Vec<String>>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: DateTime<Utc>,
}

impl ZoneView {
    /// The view of `zone` with its `areas` (in the order they were written: by id).
    pub fn new(zone: zone::Model, areas: &[zone_area::Model]) -> ZoneView {
        let mut countries: Vec<String> = Vec::new();
        let mut regions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for area in areas {
            if !countries.contains(&area.country) {
                countries.push(area.country.clone());
            }
            if !area.region_key.is_empty() {
                regions
                    .entry(area.country.clone())
                    .or_default()
                    .push(area.region.clone());
            }
        }
        ZoneView {
            id: zone.id,
            name: zone.name,
            countries,
            regions,
            created_at: zone.created_at,
            updated_at: zone.updated_at,
        }
    }
}

/// The fields of a zone as a request gives them (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct ZoneInput {
    pub name: Option<String>,
    /// Upper-cased, each once, in the order given.
    pub countries: Option<Vec<String>>,
    /// Country → its regions, trimmed, each once whatever the case (`Some` of an empty map:
    /// `null` or `{}`, no regions).
    pub regions: Option<BTreeMap<String, Vec<String>>>,
}

/// `countries`: a non-empty list of ISO 3166 alpha-2 codes (any case), duplicates collapsed.
fn countries(value: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "Expected a list of items but got type \"{}\".",
            python_type(value)
        ));
    };
    if items.is_empty() {
        return Err("This selection may not be empty.".to_owned());
    }
    let mut codes: Vec<String> = Vec::new();
    for item in items {
        let code = match item {
            Value::String(text) => text.trim().to_ascii_uppercase(),
            other => other.to_string(),
        };
        if !is_country(&code) {
            return Err(format!("\"{code}\" is not a valid choice."));
        }
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// One region as written: trimmed, 1–100 characters (its key too), no control characters.
fn region(item: &Value, country: &str) -> Result<String, String> {
    let Value::String(text) = item else {
        return Err(format!("Each region of {country} must be a string."));
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("A region of {country} may not be blank."));
    }
    let too_long = region_key(text).chars().count() > REGION_MAX;
    match text_problem(text, REGION_MAX) {
        Some(problem) => Err(format!("{country}: {problem}")),
        None if too_long => Err(format!(
            "{country}: Ensure this field has no more than {REGION_MAX} characters."
        )),
        None => Ok(text.to_owned()),
    }
}

/// `regions`: an object of country → non-empty list of regions (`null`: none). Countries are
/// upper-cased; a region given twice in any case is kept once, as first written.
fn regions(value: Option<&Value>) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Some(value) = value else {
        return Ok(out);
    };
    let Value::Object(map) = value else {
        return Err(format!(
            "Expected a dictionary of items but got type \"{}\".",
            python_type(value)
        ));
    };
    for (key, list) in map {
        let country = key.trim().to_ascii_uppercase();
        let given = match list {
            Value::Array(items) if !items.is_empty() && items.len() <= REGIONS_MAX => items,
            _ => {
                return Err(format!(
                    "Give the regions of {country} as a list of 1 to {REGIONS_MAX}."
                ));
            }
        };
        let kept = out.entry(country.clone()).or_default();
        for item in given {
            let text = region(item, &country)?;
            let key = region_key(&text);
            if !kept.iter().any(|r| region_key(r) == key) {
                kept.push(text);
            }
        }
        if kept.len() > REGIONS_MAX {
            return Err(format!(
                "Give the regions of {country} as a list of 1 to {REGIONS_MAX}."
            ));
        }
    }
    Ok(out)
}

fn read_zone(fields: &mut Fields, partial: bool) -> ZoneInput {
    let name = fields.given_text("name", NAME_MAX, partial);
    let given = fields.given::<Value>("countries", partial);
    let countries = given.and_then(|value| match countries(&value) {
        Ok(codes) => Some(codes),
        Err(message) => {
            fields.error("countries", message);
            None
        }
    });
    let regions =
        fields
            .nullable::<Value>("regions")
            .and_then(|value| match regions(value.as_ref()) {
                Ok(map) => Some(map),
                Err(message) => {
                    fields.error("regions", message);
                    None
                }
            });
    ZoneInput {
        name,
        countries,
        regions,
    }
}

/// `POST /api/shipping/zones/`.
#[derive(Debug, ToSchema)]
pub struct ZoneRequest {
    #[schema(min_length = 1, max_length = 100, example = "North America")]
    pub name: String,
    /// ISO 3166 alpha-2 codes (any case; stored upper-cased, each once). A country already in
    /// another zone as a whole → 400 on `countries`.
    #[schema(min_items = 1, example = json!(["US", "CA"]))]
    pub countries: Vec<String>,
    /// Narrows some of `countries` to regions (1–100 characters each, compared whatever the
    /// case, as an address's `state`); the others are covered whole. A region already in
    /// another zone → 400 on `regions`.
    #[schema(example = json!({"US": ["AK", "HI"]}))]
    pub regions: Option<BTreeMap<String, Vec<String>>>,
    #[schema(ignore)]
    pub input: ZoneInput,
}

impl FromFields for ZoneRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_zone(fields, false);
        Some(ZoneRequest {
            name: input.name.clone()?,
            countries: input.countries.clone()?,
            regions: input.regions.clone(),
            input,
        })
    }
}

/// `PATCH /api/shipping/zones/{id}/`: any of the fields. `countries` or `regions` replace all
/// the zone's places: `countries` without `regions` covers each country whole; `regions`
/// without `countries` narrows the zone's current countries.
#[derive(Debug, ToSchema)]
pub struct ZoneChanges {
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(nullable = false, min_items = 1, example = json!(["US", "CA"]))]
    pub countries: Option<Vec<String>>,
    #[schema(example = json!({"US": ["AK", "HI"]}))]
    pub regions: Option<BTreeMap<String, Vec<String>>>,
    #[schema(ignore)]
    pub input: ZoneInput,
}

impl FromFields for ZoneChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_zone(fields, true);
        Some(ZoneChanges {
            name: input.name.clone(),
            countries: input.countries.clone(),
            regions: input.regions.clone(),
            input,
        })
    }
}
