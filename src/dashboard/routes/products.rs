//! Products: the list (search, filter, sort, paginate — the API's own filters), a new
//! product, and a product's page with its fields and options. The rules are the catalog's: the
//! forms become the API's request bodies and go through the same services.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::catalog_page::{product_page, rerender};
use crate::catalog::products::requests::{ProductChanges, ProductRequest};
use crate::catalog::products::shown::Showing;
use crate::catalog::products::{self, ORDERINGS, ProductRow};
use crate::catalog::search::DatabaseSearch;
use crate::catalog::{categories, variants};
use crate::dashboard::guard::{Staff, StaffForm};
use crate::dashboard::page::{self, Refusal};
use crate::dashboard::service::Session;
use crate::dashboard::views::forms::FormErrors;
use crate::dashboard::views::pager::{PAGE_SIZE, Pager, offset, page_number};
use crate::dashboard::views::products::{
    CategoryChoice, NewProductPage, ProductFields, ProductQuery, ProductRowView, ProductsPage,
    category_choices,
};
use crate::http::extract::read;
use crate::money::Money;
use crate::state::AppState;

/// The most categories a select offers.
const CATEGORY_CHOICES: u64 = 5_000;

pub fn add(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/admin/products/", get(list))
        .route("/admin/products/new/", get(new_form).post(create))
        .route("/admin/products/{id}/", get(show).post(update))
        .route("/admin/products/{id}/delete/", post(delete))
}

/// What the catalog shows links and images with (the dashboard's links are relative).
pub fn showing(state: &AppState) -> Showing<'_> {
    Showing {
        storage: Some(&state.storage),
        base_url: "",
        currency: state.settings.currency,
    }
}

/// The categories, as a select offers them.
pub async fn choices(state: &AppState) -> Result<Vec<CategoryChoice>, Refusal> {
    let (_, all) = categories::list_categories(&state.db, 0, CATEGORY_CHOICES).await?;
    Ok(category_choices(&all))
}

fn list_row(row: ProductRow, currency: crate::money::Currency) -> ProductRowView {
    let prices: Vec<i64> = row
        .variants
        .iter()
        .filter(|v| v.is_active)
        .map(|v| v.price)
        .collect();
    let money = |minor: i64| Money::from_minor(minor).format(currency);
    let price = match (prices.iter().min(), prices.iter().max()) {
        (Some(low), Some(high)) if low == high => money(*low),
        (Some(low), Some(high)) => format!("{} – {}", money(*low), money(*high)),
        _ => "—".to_owned(),
    };
    ProductRowView {
        id: row.product.id,
        name: row.product.name,
        category: row.category.name,
        variants: row.variants.len(),
        price,
        stock: row
            .variants
            .iter()
            .filter(|v| v.is_active)
            .map(|v| v.stock)
            .sum(),
        is_active: row.product.is_active,
    }
}

async fn list(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Query(query): Query<ProductQuery>,
) -> Response {
    let layout = super::layout(&state, &staff, "products");
    let categories = match choices(&state).await {
        Ok(categories) => categories,
        Err(refusal) => return refusal.page(),
    };
    let number = page_number(query.page.as_deref());
    let pairs: Vec<(String, String)> = query
        .pairs()
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| ((*k).to_owned(), v.trim().to_owned()))
        .collect();
    let currency = state.settings.currency;
    let found = match products::parse_filter(&pairs, currency) {
        Ok(filter) => {
            let search = DatabaseSearch {
                language: state.settings.search_language,
            };
            products::list_products(&state.db, &search, &filter, true, offset(number), PAGE_SIZE)
                .await
                .map_err(FormErrors::of)
        }
        Err(e) => Err(FormErrors::of(e)),
    };
    let (status, count, rows, errors) = match found {
        Ok((count, rows)) => {
            let rows = rows.into_iter().map(|r| list_row(r, currency)).collect();
            (StatusCode::OK, count, rows, FormErrors::none())
        }
        Err((status, errors)) => (status, 0, Vec::new(), errors),
    };
    let pager = Pager::new("/admin/products/", &query.pairs(), number, count);
    page::render_with(
        status,
        &ProductsPage {
            layout,
            query,
            categories,
            orderings: &ORDERINGS,
            rows,
            pager,
            errors,
        },
    )
}

/// The product form's fields as the API's body: `options` from the three rows (a row without a
/// name is left out), `is_active` from the checkbox, price and stock when `with_price`.
fn product_object(form: &StaffForm, with_price: bool) -> Map<String, Value> {
    let mut names = vec!["name", "description", "category"];
    if with_price {
        names.extend(["price", "stock"]);
    }
    let mut object = form.object(&names);
    if !object.contains_key("description") {
        object.insert("description".to_owned(), json!(""));
    }
    object.insert(
        "is_active".to_owned(),
        json!(form.get("is_active").is_some()),
    );
    let options: Vec<Value> = (1..=3)
        .filter_map(|i| {
            let name = form.get(&format!("option{i}_name"))?.trim().to_owned();
            if name.is_empty() {
                return None;
            }
            let values: Vec<&str> = form
                .get(&format!("option{i}_values"))
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect();
            Some(json!({"name": name, "values": values}))
        })
        .collect();
    object.insert("options".to_owned(), Value::Array(options));
    object
}

/// What the form was given, to show it again.
fn typed(form: &StaffForm) -> ProductFields {
    let text = |name: &str| form.get(name).unwrap_or("").to_owned();
    ProductFields {
        name: text("name"),
        description: text("description"),
        category: text("category"),
        price: text("price"),
        stock: text("stock"),
        is_active: form.get("is_active").is_some(),
        options: std::array::from_fn(|i| {
            (
                text(&format!("option{}_name", i + 1)),
                text(&format!("option{}_values", i + 1)),
            )
        }),
    }
}

async fn new_form(State(state): State<AppState>, Staff(staff): Staff) -> Response {
    match choices(&state).await {
        Ok(categories) => page::render(&NewProductPage {
            layout: super::layout(&state, &staff, "products"),
            fields: ProductFields {
                is_active: true,
                ..ProductFields::default()
            },
            categories,
            errors: FormErrors::none(),
        }),
        Err(refusal) => refusal.page(),
    }
}

fn reference(staff: &Session) -> String {
    format!("user:{}", staff.user.id)
}

async fn create(State(state): State<AppState>, form: StaffForm) -> Response {
    let mut object = product_object(&form, true);
    // A product with options takes its prices from its variants: empty price and stock are
    // not given.
    if object
        .get("options")
        .is_some_and(|o| o.as_array().is_some_and(|a| !a.is_empty()))
    {
        for name in ["price", "stock"] {
            if object.get(name).is_some_and(|v| v.as_str() == Some("")) {
                object.remove(name);
            }
        }
    } else {
        object.remove("options");
    }
    let created = async {
        let request: ProductRequest = read(object, state.settings.currency)?;
        products::create_product(
            &state.db,
            &state.cache,
            state.settings.search_language,
            request.into(),
            reference(&form.staff),
            showing(&state),
        )
        .await
    };
    match created.await {
        Ok(row) => page::see_other(&format!("/admin/products/{}/?done=created", row.product.id)),
        Err(error) => {
            let (status, errors) = FormErrors::of(error);
            match choices(&state).await {
                Ok(categories) => page::render_with(
                    status,
                    &NewProductPage {
                        layout: super::layout(&state, &form.staff, "products"),
                        fields: typed(&form),
                        categories,
                        errors,
                    },
                ),
                Err(refusal) => refusal.page(),
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Query(done): Query<Done>,
) -> Response {
    match product_page(&state, &staff, id).await {
        Ok(mut page) => {
            page.notice = super::catalog_page::notice(done.done.as_deref());
            page::render(&page)
        }
        Err(refusal) => refusal.page(),
    }
}

async fn update(State(state): State<AppState>, Path(id): Path<i64>, form: StaffForm) -> Response {
    let updated = async {
        let row = products::get_product(&state.db, id, true).await?;
        let single = variants::options_of(&row.product).is_empty();
        let changes: ProductChanges = read(product_object(&form, single), state.settings.currency)?;
        products::update_product(
            &state.db,
            &state.cache,
            state.settings.search_language,
            id,
            changes.into(),
            reference(&form.staff),
            showing(&state),
        )
        .await
    };
    match updated.await {
        Ok(_) => page::see_other(&format!("/admin/products/{id}/?done=saved")),
        Err(error) => {
            let typed = typed(&form);
            rerender(&state, &form, id, "product", error, Some(typed)).await
        }
    }
}

async fn delete(State(state): State<AppState>, Path(id): Path<i64>, form: StaffForm) -> Response {
    match products::delete_product(&state.db, &state.cache, &state.storage, id, showing(&state))
        .await
    {
        Ok(()) => page::see_other("/admin/products/"),
        Err(error) => rerender(&state, &form, id, "product", error, None).await,
    }
}
