//! A product's page as the catalog's handlers show it: built from the catalog's services, and
//! shown again with a form's refusal beside that form.

use axum::response::Response;

use super::products::choices;
use crate::catalog::products::{self, ProductRow};
use crate::catalog::variants::{self, options::ProductOption};
use crate::catalog::views::ImageView;
use crate::dashboard::guard::StaffForm;
use crate::dashboard::page::{self, Refusal};
use crate::dashboard::service::{Session, random_token};
use crate::dashboard::views::forms::FormErrors;
use crate::dashboard::views::products::{
    ImageTile, OptionChoice, ProductFields, ProductPage, VariantRow,
};
use crate::http::error::ApiError;
use crate::money::Money;
use crate::state::AppState;

/// What an action's result says on the product's page (`?done=`).
pub fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("Product created."),
        "saved" => Some("Saved."),
        "variant" => Some("Variant saved."),
        "variants" => Some("Variants created."),
        "stock" => Some("Stock changed."),
        "deleted" => Some("Deleted."),
        "image" => Some("Image uploaded."),
        _ => None,
    }
}

/// Every combination of the options' values, in option order.
pub fn combinations(options: &[ProductOption]) -> Vec<Vec<(String, String)>> {
    let mut all: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for option in options {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                option.values.iter().map(move |value| {
                    let mut next = prefix.clone();
                    next.push((option.name.clone(), value.clone()));
                    next
                })
            })
            .collect();
    }
    all.retain(|c| !c.is_empty());
    all
}

/// The combinations no variant of `row` has yet.
pub fn missing(row: &ProductRow) -> Vec<Vec<(String, String)>> {
    let taken: Vec<serde_json::Map<String, serde_json::Value>> = row
        .variants
        .iter()
        .map(|v| {
            v.options
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or_default()
        })
        .collect();
    combinations(&variants::options_of(&row.product))
        .into_iter()
        .filter(|combo| {
            !taken.iter().any(|have| {
                combo
                    .iter()
                    .all(|(name, value)| have.get(name).and_then(|v| v.as_str()) == Some(value))
            })
        })
        .collect()
}

/// The product's page with nothing typed into its forms.
pub async fn product_page(
    state: &AppState,
    staff: &Session,
    id: i64,
) -> Result<ProductPage, Refusal> {
    let row = products::get_product(&state.db, id, true)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => Refusal::NotFound,
            other => Refusal::Api(other),
        })?;
    let currency = state.settings.currency;
    let money = |minor: i64| Money::from_minor(minor).format(currency);
    let options = variants::options_of(&row.product);
    let single = options.is_empty();
    let missing_combinations = missing(&row).len();
    let threshold = state.settings.orders.low_stock_threshold;
    let first = row.variants.first();
    let mut option_rows: [(String, String); 3] = Default::default();
    for (slot, option) in option_rows.iter_mut().zip(&options) {
        *slot = (option.name.clone(), option.values.join(", "));
    }
    let fields = ProductFields {
        name: row.product.name.clone(),
        description: row.product.description.clone(),
        category: row.product.category_id.to_string(),
        price: first.map(|v| money(v.price)).unwrap_or_default(),
        stock: first.map(|v| v.stock.to_string()).unwrap_or_default(),
        is_active: row.product.is_active,
        options: option_rows,
    };
    let images = row
        .images
        .iter()
        .map(|image| {
            let view = ImageView::new(image, &state.storage, "");
            ImageTile {
                id: image.id,
                small: view.thumbnails.small,
                is_primary: image.is_primary,
            }
        })
        .collect();
    let variants = variants::in_order(&row.product, row.variants.clone(), true)
        .into_iter()
        .map(|v| VariantRow {
            options: variants::label(&row.product, &v),
            price: money(v.price),
            compare_at_price: v.compare_at_price.map(money).unwrap_or_default(),
            low: v.is_active && v.stock <= threshold,
            id: v.id,
            sku: v.sku,
            stock: v.stock,
            is_active: v.is_active,
        })
        .collect();
    Ok(ProductPage {
        layout: super::layout(state, staff, "products"),
        id,
        fields,
        categories: choices(state).await?,
        single,
        variants,
        options: options
            .into_iter()
            .map(|o| OptionChoice {
                name: o.name,
                values: o.values,
            })
            .collect(),
        images,
        missing_combinations,
        form_key: random_token()?,
        errors_of: String::new(),
        errors: FormErrors::none(),
        notice: None,
    })
}

/// The product's page again after `form` (of `which`) was refused with `error`, what was
/// typed into the product form kept when given.
pub async fn rerender(
    state: &AppState,
    form: &StaffForm,
    id: i64,
    which: &str,
    error: ApiError,
    typed: Option<ProductFields>,
) -> Response {
    let (status, errors) = FormErrors::of(error);
    match product_page(state, &form.staff, id).await {
        Ok(mut page) => {
            if let Some(typed) = typed {
                page.fields = typed;
            }
            page.errors_of = which.to_owned();
            page.errors = errors;
            page::render_with(status, &page)
        }
        Err(refusal) => refusal.page(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_cover_every_value_of_every_option() {
        let options = vec![
            ProductOption {
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            },
            ProductOption {
                name: "Colour".into(),
                values: vec!["Red".into(), "Blue".into(), "Green".into()],
            },
        ];
        let all = combinations(&options);
        assert_eq!(all.len(), 6);
        assert_eq!(
            all[0],
            vec![("Size".into(), "S".into()), ("Colour".into(), "Red".into())]
        );
        assert!(combinations(&[]).is_empty());
    }
}
