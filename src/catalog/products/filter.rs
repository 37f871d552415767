//! The product list's filters and orderings: parsed from the query string (a 400 on the
//! parameter that is malformed) and written back in normal form for cache keys and links.

use crate::catalog::variants::VariantFilter;
use crate::catalog::variants::options;
use crate::catalog::variants::views::sku_problem;
use crate::http::error::ApiError;
use crate::http::pagination::query_param;
use crate::money::{Currency, Money};
use crate::text;

/// The orderings a client may ask for.
pub const ORDERINGS: [&str; 6] = [
    "price",
    "-price",
    "name",
    "-name",
    "created_at",
    "-created_at",
];

/// How the product list is ordered (`-`: descending); [`ORDERINGS`] as the document names them.
#[derive(utoipa::ToSchema)]
pub enum ProductOrdering {
    #[schema(rename = "price")]
    Price,
    #[schema(rename = "-price")]
    PriceDesc,
    #[schema(rename = "name")]
    Name,
    #[schema(rename = "-name")]
    NameDesc,
    #[schema(rename = "created_at")]
    CreatedAt,
    #[schema(rename = "-created_at")]
    CreatedAtDesc,
}

/// The product list's filters, parsed from the query string.
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    /// `category`: a category id (its sub-categories included).
    pub category: Option<i64>,
    /// `search`: its words, as [`parse_filter`] reads them.
    pub search: Vec<String>,
    /// `min_price`.
    pub min_price: Option<Money>,
    /// `max_price`.
    pub max_price: Option<Money>,
    /// `in_stock`.
    pub in_stock: Option<bool>,
    /// `ordering`: one of [`ORDERINGS`].
    pub ordering: Option<&'static str>,
    /// `option` (repeatable): `Name:Value` keys, sorted, each once.
    pub options: Vec<String>,
    /// `sku`: lower-cased.
    pub sku: Option<String>,
    /// The `search` text as a SKU, lower-cased, when it could be one: a product with a variant of
    /// exactly that SKU is found by it.
    pub search_sku: Option<String>,
}

/// Most `option` filters one list may have.
pub const MAX_OPTION_FILTERS: usize = 10;

impl ProductFilter {
    /// What the filters ask of a product's variants: an active one with every option asked,
    /// the SKU, a price in range and — with `in_stock=true` — stock.
    pub fn variant_filter(&self) -> VariantFilter {
        VariantFilter {
            options: self.options.clone(),
            sku: self.sku.clone(),
            min_price: self.min_price.map(Money::minor),
            max_price: self.max_price.map(Money::minor),
            in_stock: self.in_stock == Some(true),
        }
    }

    /// The filters as query parameters in a fixed order and normal form (unknown parameters
    /// dropped): what a cache key and the page links are made of.
    pub fn normal_query(&self, currency: Currency) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut push = |name: &str, value: String| pairs.push((name.to_owned(), value));
        if let Some(category) = self.category {
            push("category", category.to_string());
        }
        if !self.search.is_empty() {
            push("search", self.search.join(" "));
        }
        if let Some(min) = self.min_price {
            push("min_price", min.format(currency));
        }
        if let Some(max) = self.max_price {
            push("max_price", max.format(currency));
        }
        if let Some(in_stock) = self.in_stock {
            push("in_stock", in_stock.to_string());
        }
        if let Some(ordering) = self.ordering {
            push("ordering", ordering.to_owned());
        }
        for key in &self.options {
            push("option", key.replace('\u{1f}', ":"));
        }
        if let Some(sku) = &self.sku {
            push("sku", sku.clone());
        }
        pairs
    }
}

/// Reads the filters; a malformed one is a 400 on its own parameter.
pub fn parse_filter(
    query: &[(String, String)],
    currency: Currency,
) -> Result<ProductFilter, ApiError> {
    let param = |name: &str| query_param(query, name).filter(|v| !v.is_empty());
    let mut errors = crate::http::error::FieldErrors::new();
    let mut filter = ProductFilter::default();
    if let Some(text) = param("category") {
        match text.parse::<i64>() {
            Ok(id) => filter.category = Some(id),
            Err(_) => errors.add(
                "category",
                "Select a valid choice. That choice is not one of the available choices.",
            ),
        }
    }
    if let Some(text) = param("search") {
        if let Some(problem) = crate::http::extract::text_problem(text, usize::MAX) {
            errors.add("search", problem);
        }
        for word in text::words(text) {
            if filter.search.len() == 10 {
                break;
            }
            if !filter.search.contains(&word) {
                filter.search.push(word);
            }
        }
        if filter.search.is_empty() && !text.trim().is_empty() {
            // Only punctuation: kept as one word, which no product has (nothing is found, as a
            // search for "%" should find nothing, rather than everything).
            filter.search = vec![text.trim().chars().take(40).collect()];
        }
    }
    for (name, slot) in [
        ("min_price", &mut filter.min_price),
        ("max_price", &mut filter.max_price),
    ] {
        if let Some(text) = param(name) {
            match Money::parse(text, currency) {
                Ok(money) => *slot = Some(money),
                Err(_) => errors.add(name, "Enter a number."),
            }
        }
    }
    if let Some(text) = param("in_stock") {
        match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => filter.in_stock = Some(true),
            "false" | "0" | "no" => filter.in_stock = Some(false),
            _ => errors.add("in_stock", "Select a valid choice. Use true or false."),
        }
    }
    read_variant_filters(query, &mut filter, &mut errors);
    if let Some(text) = param("ordering") {
        match ORDERINGS.iter().find(|o| **o == text) {
            Some(ordering) => filter.ordering = Some(ordering),
            None => errors.add(
                "ordering",
                format!("Select a valid choice. {text} is not one of the available choices."),
            ),
        }
    }
    errors.into_result()?;
    Ok(filter)
}

/// `option` (repeatable, `Name:Value`), `sku`, and the `search` text read as a SKU.
fn read_variant_filters(
    query: &[(String, String)],
    filter: &mut ProductFilter,
    errors: &mut crate::http::error::FieldErrors,
) {
    for (_, text) in query.iter().filter(|(name, _)| name == "option") {
        match options::filter_key(text) {
            Some(key) if !filter.options.contains(&key) => filter.options.push(key),
            Some(_) => {}
            None => errors.add("option", "Enter an option as Name:Value, e.g. Size:M."),
        }
    }
    filter.options.sort();
    if filter.options.len() > MAX_OPTION_FILTERS {
        errors.add(
            "option",
            format!("Give at most {MAX_OPTION_FILTERS} options."),
        );
    }
    if let Some(text) = query_param(query, "sku")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        match sku_problem(text) {
            None => filter.sku = Some(text.to_lowercase()),
            Some(problem) => errors.add("sku", problem),
        }
    }
    filter.search_sku = query_param(query, "search")
        .map(str::trim)
        .filter(|text| sku_problem(text).is_none())
        .map(str::to_lowercase);
}
/// The filter as searched: a `search` that is exactly the SKU of a variant finds its product
/// (the SKU filter instead of the words); one lookup in the SKU index.
pub async fn sku_searched(
    db: &sea_orm::DatabaseConnection,
    filter: &ProductFilter,
) -> Result<Option<ProductFilter>, ApiError> {
    let Some(sku) = &filter.search_sku else {
        return Ok(None);
    };
    if crate::catalog::variants::store::taken_skus(db, std::slice::from_ref(sku))
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    Ok(Some(ProductFilter {
        search: Vec::new(),
        search_sku: None,
        sku: Some(sku.clone()),
        ..filter.clone()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_filter_is_an_error_on_its_parameter() {
        let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let Err(ApiError::Validation(errors)) = parse_filter(
            &query(&[
                ("min_price", "cheap"),
                ("ordering", "stock"),
                ("in_stock", "maybe"),
                ("category", "x"),
            ]),
            Currency::USD,
        ) else {
            panic!("expected field errors")
        };
        for field in ["min_price", "ordering", "in_stock", "category"] {
            assert!(errors.has(field), "{field}");
        }
        let ok = parse_filter(
            &query(&[("search", "Red  shoe"), ("max_price", "20.5")]),
            Currency::USD,
        )
        .expect("valid");
        assert_eq!(ok.search, ["red", "shoe"]);
        assert_eq!(ok.max_price, Some(Money::from_minor(2050)));
    }
}
