//! The request and response types of variants, with their OpenAPI schemas.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::catalog::inventory::MAX_STOCK;
use crate::catalog::variant;
use crate::http::extract::{Fields, FromFields};
use crate::money::{Currency, Money};

/// Most grams a variant may weigh (a thousand tonnes).
pub const MAX_WEIGHT_GRAMS: i64 = 1_000_000_000;

/// A variant: what is sold, with its own SKU, price, stock and picture.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariantView {
    pub id: i64,
    pub sku: String,
    /// Its value of each of the product's options (`{}` for a product without options).
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub options: Map<String, Value>,
    #[schema(example = "19.99")]
    pub price: String,
    /// The price before a reduction, shown struck through; null when none.
    #[schema(example = "24.99")]
    pub compare_at_price: Option<String>,
    pub stock: i64,
    pub in_stock: bool,
    pub is_active: bool,
    pub weight_grams: Option<i64>,
    /// Overrides the product's tax class when set.
    pub tax_class: Option<String>,
    /// One of the product's images, or null.
    pub image_id: Option<i64>,
}

/// A variant's options as shown (a JSON object), `{}` when none or unreadable.
pub fn shown_options(row: &variant::Model) -> Map<String, Value> {
    row.options
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

impl VariantView {
    pub fn new(row: &variant::Model, currency: Currency) -> VariantView {
        VariantView {
            id: row.id,
            sku: row.sku.clone(),
            options: shown_options(row),
            price: Money::from_minor(row.price).format(currency),
            compare_at_price: row
                .compare_at_price
                .map(|p| Money::from_minor(p).format(currency)),
            stock: row.stock,
            in_stock: row.stock > 0,
            is_active: row.is_active,
            weight_grams: row.weight_grams,
            tax_class: row.tax_class.clone(),
            image_id: row.image_id,
        }
    }
}

/// The variant inside a cart line.
#[derive(Debug, Serialize, ToSchema)]
pub struct VariantSummary {
    pub id: i64,
    pub sku: String,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub options: Map<String, Value>,
}

impl VariantSummary {
    pub fn new(row: &variant::Model) -> VariantSummary {
        VariantSummary {
            id: row.id,
            sku: row.sku.clone(),
            options: shown_options(row),
        }
    }
}

/// Fields of a variant as a request gives them (`None`: not given; `Some(None)`: null).
#[derive(Clone, Debug, Default)]
pub struct VariantInput {
    pub sku: Option<String>,
    pub options: Option<Map<String, Value>>,
    pub price: Option<Money>,
    pub compare_at_price: Option<Option<Money>>,
    pub stock: Option<i64>,
    pub is_active: Option<bool>,
    pub weight_grams: Option<Option<i64>>,
    pub tax_class: Option<Option<String>>,
    pub image_id: Option<Option<i64>>,
}

/// Why `sku` is not a SKU: 1–64 of `A–Z a–z 0–9 - _ .`.
pub fn sku_problem(sku: &str) -> Option<&'static str> {
    let fits = (1..=64).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    (!fits).then_some("Enter 1 to 64 letters, digits, hyphens, underscores or dots.")
}

impl FromFields for VariantInput {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let sku = fields
            .optional::<String>("sku")
            .map(|s| s.trim().to_owned());
        if let Some(problem) = sku.as_deref().and_then(sku_problem) {
            fields.error("sku", problem);
        }
        let options = match fields.optional::<Value>("options") {
            Some(Value::Object(map)) => Some(map),
            Some(_) => {
                fields.error("options", "Expected an object of option name to value.");
                None
            }
            None => None,
        };
        let price = fields.money("price");
        let compare_at_price = match fields.contains("compare_at_price") {
            true if fields.nullable::<Value>("compare_at_price") == Some(None) => Some(None),
            true => fields.money("compare_at_price").map(Some),
            false => None,
        };
        let stock = fields.integer_in("stock", 0, MAX_STOCK);
        let is_active = fields.optional::<bool>("is_active");
        let weight_grams = fields.nullable_integer_in("weight_grams", 0, MAX_WEIGHT_GRAMS);
        let tax_class = fields.nullable::<String>("tax_class");
        if let Some(Some(class)) = &tax_class
            && let Some(problem) = crate::tax::classes::problem(class)
        {
            fields.error("tax_class", problem);
        }
        let image_id = fields.nullable::<i64>("image_id");
        Some(VariantInput {
            sku,
            options,
            price,
            compare_at_price,
            stock,
            is_active,
            weight_grams,
            tax_class,
            image_id,
        })
    }
}

/// `POST /api/products/{id}/variants/` (and each of a product's `variants`).
#[derive(Debug, ToSchema)]
pub struct VariantRequest {
    /// Unique in the shop whatever the case: 1–64 of `A–Z a–z 0–9 - _ .`.
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    /// Exactly the product's option names, each with one of its values.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub options: Map<String, Value>,
    #[schema(value_type = String, example = "19.99", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub price: Money,
    #[schema(value_type = Option<String>, example = "24.99", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub compare_at_price: Option<Money>,
    /// ≥ 0 (default 0).
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub weight_grams: Option<i64>,
    #[schema(pattern = r"^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    /// One of the product's images.
    pub image_id: Option<i64>,
    #[schema(ignore)]
    pub input: VariantInput,
}

/// `PATCH /api/products/{id}/variants/{variant_id}/`: any of the fields.
#[derive(Debug, ToSchema)]
pub struct VariantChanges {
    #[schema(nullable = false, pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub sku: Option<String>,
    #[schema(nullable = false, value_type = Option<std::collections::BTreeMap<String, String>>)]
    pub options: Option<Map<String, Value>>,
    #[schema(value_type = Option<String>, nullable = false, pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub price: Option<Money>,
    #[schema(value_type = Option<String>, pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub compare_at_price: Option<Money>,
    /// An absolute set, recorded as a movement; `POST /api/variants/{id}/stock/` is the safe way.
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub weight_grams: Option<i64>,
    #[schema(pattern = r"^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    pub image_id: Option<i64>,
    #[schema(ignore)]
    pub input: VariantInput,
}

impl FromFields for VariantRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        if !fields.contains("sku") {
            fields.error("sku", "This field is required.");
        }
        if !fields.contains("price") {
            fields.error("price", "This field is required.");
        }
        let input = VariantInput::from_fields(fields)?;
        Some(VariantRequest {
            sku: input.sku.clone()?,
            options: input.options.clone().unwrap_or_default(),
            price: input.price?,
            compare_at_price: input.compare_at_price.flatten(),
            stock: input.stock,
            is_active: input.is_active,
            weight_grams: input.weight_grams.flatten(),
            tax_class: input.tax_class.clone().flatten(),
            image_id: input.image_id.flatten(),
            input,
        })
    }
}

impl FromFields for VariantChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = VariantInput::from_fields(fields)?;
        Some(VariantChanges {
            sku: input.sku.clone(),
            options: input.options.clone(),
            price: input.price,
            compare_at_price: input.compare_at_price.flatten(),
            stock: input.stock,
            is_active: input.is_active,
            weight_grams: input.weight_grams.flatten(),
            tax_class: input.tax_class.clone().flatten(),
            image_id: input.image_id.flatten(),
            input,
        })
    }
}
