//! The request types of products — a product's fields, its `options` and the `variants` it may
//! be created with — with their OpenAPI schemas.

use serde_json::Value;
use utoipa::ToSchema;

use crate::catalog::inventory::MAX_STOCK;
use crate::catalog::variants::options::{self, ProductOption};
use crate::catalog::variants::views::{VariantInput, VariantRequest};
use crate::http::extract::{Fields, FromFields};
use crate::money::Money;

/// Fields of a product as a request gives them (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct ProductInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub stock: Option<i64>,
    pub is_active: Option<bool>,
    pub category: Option<i64>,
    pub tax_class: Option<String>,
    /// `Some(vec![])`: no options.
    pub options: Option<Vec<ProductOption>>,
    /// The variants a product with options is created with.
    pub variants: Option<Vec<VariantInput>>,
}

/// Reads `options` (a list of `{"name", "values"}`).
fn read_options(fields: &mut Fields) -> Option<Vec<ProductOption>> {
    let value = fields.optional::<Value>("options")?;
    match options::parse(&value) {
        Ok(list) => Some(list),
        Err(message) => {
            fields.error("options", message);
            None
        }
    }
}

/// Reads `variants` (a product with options may be created with them).
fn read_variants(fields: &mut Fields, with_options: bool) -> Option<Vec<VariantInput>> {
    let value = fields.optional::<Value>("variants")?;
    let Value::Array(list) = value else {
        fields.error("variants", "Expected a list of variants.");
        return None;
    };
    if !with_options {
        fields.error(
            "variants",
            "Give options with variants; a product without options has one variant, made from its price and stock.",
        );
        return None;
    }
    if list.len() > crate::catalog::variants::MAX_VARIANTS as usize {
        fields.error("variants", "Too many variants.");
        return None;
    }
    let mut variants = Vec::with_capacity(list.len());
    for (at, item) in list.into_iter().enumerate() {
        let Value::Object(map) = item else {
            fields.error("variants", format!("Item {at}: expected an object."));
            continue;
        };
        let mut inner = Fields::new(map, fields.currency());
        let parsed = VariantRequest::from_fields(&mut inner);
        match (inner.finish(), parsed) {
            (Ok(()), Some(request)) => variants.push(request.input),
            (Err(crate::http::error::ApiError::Validation(errors)), _) => {
                for (name, messages) in errors.in_list("variants", at).entries() {
                    for message in messages {
                        fields.error(name, message.clone());
                    }
                }
            }
            _ => fields.error("variants", format!("Item {at}: invalid.")),
        }
    }
    Some(variants)
}

/// Reads a product body in the shop's currency: `name`, `price` and `category` required unless
/// `partial` (`PATCH`).
fn read_product(fields: &mut Fields, partial: bool) -> ProductInput {
    let name = fields.given_text("name", 200, partial);
    let description = fields.optional_text("description", 20_000);
    let options = read_options(fields);
    let with_options = options.as_ref().is_some_and(|o| !o.is_empty());
    if with_options {
        for field in ["price", "stock"] {
            if fields.contains(field) {
                fields.error(
                    field,
                    "A product with options has its price and stock on its variants.",
                );
            }
        }
    } else if !partial && !fields.contains("price") {
        fields.error("price", "This field is required.");
    }
    let variants = if partial {
        if fields.contains("variants") {
            fields.error(
                "variants",
                "Change variants at /api/products/{id}/variants/.",
            );
        }
        None
    } else {
        read_variants(fields, with_options)
    };
    let price = fields.money("price");
    let stock = fields.optional::<i64>("stock");
    if stock.is_some_and(|s| s < 0) {
        fields.error("stock", "Ensure this value is greater than or equal to 0.");
    }
    if stock.is_some_and(|s| s > MAX_STOCK) {
        fields.error(
            "stock",
            format!("Ensure this value is less than or equal to {MAX_STOCK}."),
        );
    }
    let is_active = fields.optional::<bool>("is_active");
    let category = fields.given::<i64>("category", partial);
    let tax_class = fields
        .optional_nonblank_text("tax_class", 32)
        .map(|class| class.trim().to_owned());
    if let Some(problem) = tax_class.as_deref().and_then(crate::tax::classes::problem) {
        fields.error("tax_class", problem);
    }
    ProductInput {
        name,
        description,
        price,
        stock,
        is_active,
        category,
        tax_class,
        options,
        variants,
    }
}

/// `POST /api/products/`: `price` (and `stock`) for a product without options; `options`, and
/// perhaps its `variants`, for one with.
#[derive(Debug, ToSchema)]
pub struct ProductRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[schema(nullable = false, max_length = 20000)]
    pub description: Option<String>,
    /// Decimal string with at most the currency's minor digits (two for the default USD, none
    /// for JPY), ≥ 0. Required without `options`; refused with them.
    #[schema(value_type = Option<String>, nullable = false, example = "19.99", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub price: Option<Money>,
    /// ≥ 0 (default 0), ≤ 1,000,000,000; refused with `options`.
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    /// A category id.
    pub category: i64,
    /// The tax class of its variants that name none (default `standard`).
    #[schema(nullable = false, max_length = 32, pattern = "^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    /// At most 3 options of at most 100 values each.
    #[schema(nullable = false, max_items = 3)]
    pub options: Option<Vec<ProductOption>>,
    /// With `options`: the variants to create with the product.
    #[schema(nullable = false)]
    pub variants: Option<Vec<VariantRequest>>,
    #[schema(ignore)]
    pub input: ProductInput,
}

/// `PATCH /api/products/{id}/`: any of the fields. `price` and `stock` only for a product
/// with one variant.
#[derive(Debug, ToSchema)]
pub struct ProductChanges {
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(nullable = false, max_length = 20000)]
    pub description: Option<String>,
    #[schema(value_type = Option<String>, nullable = false, example = "19.99", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub price: Option<Money>,
    /// An absolute set, recorded as a movement; `POST …/stock/` is the safe way to change stock.
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000)]
    pub stock: Option<i64>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(nullable = false)]
    pub category: Option<i64>,
    /// The tax class of its variants that name none (default `standard`).
    #[schema(nullable = false, max_length = 32, pattern = "^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    /// The options as they should be: a value a variant uses cannot go (409).
    #[schema(nullable = false, max_items = 3)]
    pub options: Option<Vec<ProductOption>>,
    #[schema(ignore)]
    pub input: ProductInput,
}

impl FromFields for ProductRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_product(fields, false);
        Some(ProductRequest {
            name: input.name.clone()?,
            description: input.description.clone(),
            price: input.price,
            stock: input.stock,
            is_active: input.is_active,
            category: input.category?,
            tax_class: input.tax_class.clone(),
            options: input.options.clone(),
            variants: None,
            input,
        })
    }
}

impl From<ProductRequest> for ProductInput {
    fn from(r: ProductRequest) -> ProductInput {
        r.input
    }
}

impl FromFields for ProductChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_product(fields, true);
        Some(ProductChanges {
            name: input.name.clone(),
            description: input.description.clone(),
            price: input.price,
            stock: input.stock,
            is_active: input.is_active,
            category: input.category,
            tax_class: input.tax_class.clone(),
            options: input.options.clone(),
            input,
        })
    }
}

impl From<ProductChanges> for ProductInput {
    fn from(c: ProductChanges) -> ProductInput {
        c.input
    }
}
