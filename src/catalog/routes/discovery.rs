//! Handlers that help shoppers find products beyond the list: counts for the list's filters
//! (`/api/products/facets/`) and suggestions for what is being typed (`/api/products/suggest/`).

use axum::extract::{OriginalUri, State};
use axum::response::Response;

use super::{cached, search, to_bytes};
use crate::auth::MaybeAuthUser;
use crate::catalog::categories::CATEGORIES_SCOPE;
use crate::catalog::inventory::IN_STOCK_SCOPE;
use crate::catalog::products::{self, LISTING_SCOPE};
use crate::catalog::search::SearchBackend;
use crate::catalog::views::{
    CategoryCount, FacetsView, OptionFacet, OptionValueCount, PriceRange, Suggestion,
    SuggestionsView,
};
use crate::http::ApiResult;
use crate::http::error::{bad_request, field_error, internal};
use crate::http::openapi::ValidationErrors;
use crate::http::pagination::query_param;
use crate::http::reads::Reader;
use crate::money::Money;
use crate::state::AppState;

/// The list's filters from a query string (its `ordering` checked, then dropped: counts have
/// no order), and the key of their normal form.
fn facet_filter_and_key(
    uri: &axum::http::Uri,
    currency: crate::money::Currency,
) -> ApiResult<(products::ProductFilter, String)> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| bad_request("The query string is malformed."))?;
    let mut filter = products::parse_filter(&query, currency)?;
    filter.ordering = None;
    let normal = serde_urlencoded::to_string(filter.normal_query(currency)).map_err(internal)?;
    Ok((filter, format!("facets\u{1f}{normal}")))
}

/// Counts for the products the list's filters select (same filters as the list; `ordering`
/// and pages do not apply): per category with its sub-categories, per price bucket, in stock.
#[utoipa::path(get, path = "/api/products/facets/", tag = "catalog", security((), ("jwt" = [])),
    params(
        ("category" = Option<i64>, Query), ("search" = Option<String>, Query),
        ("min_price" = Option<String>, Query), ("max_price" = Option<String>, Query),
        ("in_stock" = Option<bool>, Query),
        ("option" = Option<Vec<String>>, Query, explode = true, description = "Name:Value, repeatable: an active variant with all of them"),
        ("sku" = Option<String>, Query, description = "a variant's SKU, whatever the case"),
    ),
    responses(
        (status = 200, description = "Counts for the result set", body = FacetsView),
        (status = 400, description = "A malformed filter", body = ValidationErrors),
    ))]
pub async fn product_facets(
    State(state): State<AppState>,
    user: MaybeAuthUser,
    reader: Reader,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let currency = state.settings.currency;
    let (filter, key) = facet_filter_and_key(&uri, currency)?;
    let staff = user.is_staff();
    let key = (!staff).then_some(key);
    let scopes = &[CATEGORIES_SCOPE, LISTING_SCOPE, IN_STOCK_SCOPE];
    cached(&state, &reader, key, scopes, || async {
        let facets =
            products::product_facets(reader.db(&state), &search(&state), &filter, staff, currency)
                .await?;
        let view = FacetsView {
            categories: facets
                .categories
                .into_iter()
                .map(|(category, count)| CategoryCount {
                    id: category.id,
                    name: category.name,
                    count,
                })
                .collect(),
            price_ranges: facets
                .price_ranges
                .into_iter()
                .map(|(min, max, count)| PriceRange {
                    min: Money::from_minor(min).format(currency),
                    max: max.map(|max| Money::from_minor(max).format(currency)),
                    count,
                })
                .collect(),
            in_stock: facets.in_stock,
            count: facets.count,
            options: facets
                .options
                .into_iter()
                .map(|(name, values)| OptionFacet {
                    name,
                    values: values
                        .into_iter()
                        .map(|(value, count)| OptionValueCount { value, count })
                        .collect(),
                })
                .collect(),
        };
        Ok((to_bytes(&view)?, Vec::new()))
    })
    .await
}

/// Longest text `suggest` takes.
const MAX_TYPED: usize = 200;

/// Products and categories for what a shopper is typing: the last word is a prefix, the
/// words before it must be in the product.
#[utoipa::path(get, path = "/api/products/suggest/", tag = "catalog", security((), ("jwt" = [])),
    params(("q" = Option<String>, Query, description = "what has been typed so far")),
    responses(
        (status = 200, description = "Up to ten products and ten categories", body = SuggestionsView),
        (status = 400, description = "Control characters, or over 200 characters", body = ValidationErrors),
    ))]
pub async fn suggest(
    State(state): State<AppState>,
    reader: Reader,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| bad_request("The query string is malformed."))?;
    let typed = query_param(&query, "q").unwrap_or("");
    if let Some(problem) = crate::http::extract::text_problem(typed, MAX_TYPED) {
        return Err(field_error("q", problem));
    }
    let words: Vec<String> = crate::text::words(typed).take(10).collect();
    let key = format!("suggest\u{1f}{}", words.join(" "));
    cached(
        &state,
        &reader,
        Some(key),
        &[CATEGORIES_SCOPE, LISTING_SCOPE],
        || async {
            let found = search(&state)
                .suggest(reader.db(&state), &words)
                .await
                .map_err(crate::http::error::ApiError::from)?;
            let named = |(id, name, slug): (i64, String, String)| Suggestion { id, name, slug };
            let view = SuggestionsView {
                products: found.products.into_iter().map(named).collect(),
                categories: found.categories.into_iter().map(named).collect(),
            };
            Ok((to_bytes(&view)?, Vec::new()))
        },
    )
    .await
}
