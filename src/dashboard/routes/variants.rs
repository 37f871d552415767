//! A product's variants: change one, add one, create the missing combinations at once, delete
//! one, adjust its stock with a reason (a form posted twice moves the stock once), and its
//! movements; the variants low on stock.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::catalog_page::{missing, rerender};
use super::products::showing;
use crate::catalog::inventory::views::StockRequest;
use crate::catalog::inventory::{self, Cause, StockAlerts};
use crate::catalog::products;
use crate::catalog::variants::views::{VariantChanges, VariantRequest};
use crate::catalog::variants::{self, label};
use crate::dashboard::guard::{Staff, StaffForm};
use crate::dashboard::page::{self, Refusal};
use crate::dashboard::views::orders::shop_time;
use crate::dashboard::views::pager::{PAGE_SIZE, Pager, offset, page_number};
use crate::dashboard::views::products::{LowStockPage, LowStockRow, MovementRow, MovementsPage};
use crate::http::error::{ApiError, field_error};
use crate::http::extract::read;
use crate::state::AppState;

pub fn add(router: Router<AppState>) -> Router<AppState> {
    router
        .route("/admin/products/low-stock/", get(low_stock))
        .route("/admin/products/{id}/variants/", post(create))
        .route("/admin/products/{id}/combinations/", post(combinations))
        .route("/admin/variants/{id}/", post(update))
        .route("/admin/variants/{id}/delete/", post(delete))
        .route("/admin/variants/{id}/stock/", post(adjust))
        .route("/admin/variants/{id}/movements/", get(movements))
}

fn reference(form: &StaffForm) -> String {
    format!("user:{}", form.staff.user.id)
}

/// The variant's product, or the page for a variant that does not exist.
async fn owner_of(state: &AppState, variant_id: i64) -> Result<i64, Response> {
    match variants::owner(&state.db, variant_id).await {
        Ok((product_id, _)) => Ok(product_id),
        Err(ApiError::NotFound(_)) => Err(Refusal::NotFound.page()),
        Err(e) => Err(Refusal::Api(e).page()),
    }
}

async fn update(State(state): State<AppState>, Path(id): Path<i64>, form: StaffForm) -> Response {
    let product_id = match owner_of(&state, id).await {
        Ok(product_id) => product_id,
        Err(page) => return page,
    };
    let mut object = form.changed(&["sku", "price"]);
    let compare = form.get("compare_at_price").map(str::trim).unwrap_or("");
    object.insert(
        "compare_at_price".to_owned(),
        if compare.is_empty() {
            Value::Null
        } else {
            json!(compare)
        },
    );
    object.insert(
        "is_active".to_owned(),
        json!(form.get("is_active").is_some()),
    );
    let changed = async {
        let changes: VariantChanges = read(object, state.settings.currency)?;
        let target = (product_id, id);
        variants::update(
            &state.db,
            &state.cache,
            target,
            changes.input,
            reference(&form),
            showing(&state),
        )
        .await
    };
    match changed.await {
        Ok(_) => page::see_other(&format!(
            "/admin/products/{product_id}/?done=variant#variant-{id}"
        )),
        Err(e) => rerender(&state, &form, product_id, &format!("variant:{id}"), e, None).await,
    }
}

/// The options a form chose: its `option:{Name}` fields.
fn chosen_options(form: &StaffForm) -> Map<String, Value> {
    form.fields
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("option:")?;
            Some((name.to_owned(), json!(value)))
        })
        .collect()
}

async fn create(State(state): State<AppState>, Path(id): Path<i64>, form: StaffForm) -> Response {
    let mut object = form.object(&["sku", "price", "stock"]);
    object.insert("options".to_owned(), Value::Object(chosen_options(&form)));
    let created = async {
        let request: VariantRequest = read(object, state.settings.currency)?;
        variants::create(
            &state.db,
            &state.cache,
            id,
            request.input,
            reference(&form),
            showing(&state),
        )
        .await
    };
    match created.await {
        Ok(_) => page::see_other(&format!("/admin/products/{id}/?done=variant")),
        Err(e) => rerender(&state, &form, id, "new-variant", e, None).await,
    }
}

/// `PREFIX-VALUE-VALUE`, keeping only what a SKU may hold.
fn sku_of(prefix: &str, combination: &[(String, String)]) -> String {
    let mut sku = prefix.trim().to_owned();
    for (_, value) in combination {
        sku.push('-');
        sku.extend(
            value
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')),
        );
    }
    sku
}

async fn combinations(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    let created = async {
        let row = products::get_product(&state.db, id, true).await?;
        let prefix = form.get("sku_prefix").unwrap_or("").trim();
        if prefix.is_empty() {
            return Err(field_error("sku", "Give a SKU prefix."));
        }
        let base = form.object(&["price", "stock"]);
        let mut inputs = Vec::new();
        for combination in missing(&row) {
            let mut object = base.clone();
            object.insert("sku".to_owned(), json!(sku_of(prefix, &combination)));
            let options: Map<String, Value> = combination
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            object.insert("options".to_owned(), Value::Object(options));
            let request: VariantRequest = read(object, state.settings.currency)?;
            inputs.push(request.input);
        }
        variants::create_many(
            &state.db,
            &state.cache,
            id,
            inputs,
            reference(&form),
            showing(&state),
        )
        .await
    };
    match created.await {
        Ok(_) => page::see_other(&format!("/admin/products/{id}/?done=variants")),
        Err(e) => rerender(&state, &form, id, "combinations", e, None).await,
    }
}

async fn delete(State(state): State<AppState>, Path(id): Path<i64>, form: StaffForm) -> Response {
    let product_id = match owner_of(&state, id).await {
        Ok(product_id) => product_id,
        Err(page) => return page,
    };
    match variants::delete(&state.db, &state.cache, (product_id, id), showing(&state)).await {
        Ok(()) => page::see_other(&format!("/admin/products/{product_id}/?done=deleted")),
        Err(e) => rerender(&state, &form, product_id, "variants", e, None).await,
    }
}

async fn adjust(State(state): State<AppState>, Path(id): Path<i64>, form: StaffForm) -> Response {
    let product_id = match owner_of(&state, id).await {
        Ok(product_id) => product_id,
        Err(page) => return page,
    };
    let adjusted = async {
        let request: StockRequest =
            read(form.object(&["delta", "reason"]), state.settings.currency)?;
        let key = form
            .get("key")
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 100);
        let cause = Cause {
            reason: request.reason.unwrap_or_else(|| "adjustment".to_owned()),
            reference: reference(&form),
            idempotency_key: key.map(|k| format!("dashboard:{k}")),
        };
        let alerts = StockAlerts {
            threshold: state.settings.orders.low_stock_threshold,
            currency: state.settings.currency,
        };
        inventory::adjust(
            &state.db,
            &state.cache,
            (product_id, id),
            request.adjustment,
            cause,
            alerts,
        )
        .await
    };
    match adjusted.await {
        Ok(()) => page::see_other(&format!(
            "/admin/products/{product_id}/?done=stock#variant-{id}"
        )),
        Err(e) => rerender(&state, &form, product_id, &format!("stock:{id}"), e, None).await,
    }
}

#[derive(serde::Deserialize)]
struct PageQuery {
    page: Option<String>,
}

async fn movements(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Query(query): Query<PageQuery>,
) -> Response {
    let number = page_number(query.page.as_deref());
    let found = async {
        let variant = variants::get(&state.db, id).await?;
        let row = products::get_product(&state.db, variant.product_id, true).await?;
        let (count, rows) = inventory::movements(&state.db, id, offset(number), PAGE_SIZE).await?;
        Ok::<_, ApiError>((variant, row, count, rows))
    };
    let (variant, row, count, rows) = match found.await {
        Ok(found) => found,
        Err(ApiError::NotFound(_)) => return Refusal::NotFound.page(),
        Err(e) => return Refusal::Api(e).page(),
    };
    let tz = state.settings.time_zone;
    let options = label(&row.product, &variant);
    let label = if options.is_empty() {
        format!("{} ({})", row.product.name, variant.sku)
    } else {
        format!("{} — {options} ({})", row.product.name, variant.sku)
    };
    let path = format!("/admin/variants/{id}/movements/");
    page::render(&MovementsPage {
        layout: super::layout(&state, &staff, "products"),
        product_id: variant.product_id,
        label,
        stock: variant.stock,
        rows: rows
            .into_iter()
            .map(|m| MovementRow {
                at: shop_time(m.created_at, tz),
                delta: m.delta,
                stock_after: m.stock_after,
                reason: m.reason,
                reference: m.reference,
            })
            .collect(),
        pager: Pager::new(&path, &[], number, count),
    })
}

async fn low_stock(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Query(query): Query<PageQuery>,
) -> Response {
    let number = page_number(query.page.as_deref());
    let threshold = state.settings.orders.low_stock_threshold;
    match inventory::low_stock(&state.db, threshold, offset(number), PAGE_SIZE).await {
        Ok((count, rows)) => page::render(&LowStockPage {
            layout: super::layout(&state, &staff, "products"),
            threshold,
            rows: rows
                .into_iter()
                .map(|(variant, product)| LowStockRow {
                    product_id: variant.product_id,
                    product: product.map(|p| p.name).unwrap_or_default(),
                    sku: variant.sku,
                    stock: variant.stock,
                })
                .collect(),
            pager: Pager::new("/admin/products/low-stock/", &[], number, count),
        }),
        Err(e) => Refusal::from(e).page(),
    }
}
