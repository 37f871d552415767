//! Categories, coupons, shipping zones and methods, and tax rates: each a
//! [`Resource`](crate::dashboard::resource::Resource) over its app's service functions and the
//! API's request and view types.

use axum::Router;
use serde_json::{Map, Value};

use crate::catalog::categories;
use crate::catalog::views::{CategoryChanges, CategoryRequest, CategoryView};
use crate::coupons::service as coupons;
use crate::coupons::views::{CouponChanges, CouponRequest, CouponView};
use crate::dashboard::resource::{self, Field, Input, Resource, id_of, json_of};
use crate::dashboard::views::products::category_choices;
use crate::http::error::ApiError;
use crate::http::extract::read;
use crate::shipping::service as shipping;
use crate::shipping::views::methods::{MethodChanges, MethodRequest, MethodView};
use crate::shipping::views::{ZoneChanges, ZoneRequest, ZoneView};
use crate::state::AppState;
use crate::tax::service as tax;
use crate::tax::views::{RateChanges, RateRequest, RateView};

pub fn add(router: Router<AppState>) -> Router<AppState> {
    let router = resource::add::<Categories>(router);
    let router = resource::add::<Coupons>(router);
    let router = resource::add::<Zones>(router);
    let router = resource::add::<Methods>(router);
    resource::add::<TaxRates>(router)
}

/// The most rows a select or an in-memory list takes.
const MANY: u64 = 5_000;

fn page_of(all: Vec<Value>, offset: u64, limit: u64) -> (u64, Vec<Value>) {
    let count = all.len() as u64;
    let rows = all
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    (count, rows)
}

pub struct Categories;

impl Resource for Categories {
    const PATH: &'static str = "categories";
    const SECTION: &'static str = "categories";
    const TITLE: &'static str = "Categories";
    const ONE: &'static str = "category";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("tree", "Name"),
        ("slug", "Slug"),
        ("description", "Description"),
    ];

    async fn fields(state: &AppState) -> Result<Vec<Field>, ApiError> {
        let (_, all) = categories::list_categories(&state.db, 0, MANY).await?;
        let mut parents = vec![(String::new(), "(top level)".to_owned())];
        parents.extend(
            category_choices(&all)
                .into_iter()
                .map(|c| (c.id.to_string(), c.label)),
        );
        Ok(vec![
            Field::new("name", "Name", Input::Text),
            Field::new("slug", "Slug", Input::Text).hint("Made from the name when left empty."),
            Field::new(
                "parent",
                "Parent (move it by choosing another)",
                Input::Select,
            )
            .clearable()
            .options(parents),
            Field::new("description", "Description", Input::LongText),
        ])
    }

    /// The whole tree, depth first, each name indented by its depth.
    async fn list(
        state: &AppState,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Value>), ApiError> {
        let (_, all) = categories::list_categories(&state.db, 0, MANY).await?;
        let tree = category_choices(&all);
        let mut rows = Vec::with_capacity(tree.len());
        for choice in tree {
            let Some(row) = all.iter().find(|c| c.id == choice.id) else {
                continue;
            };
            let mut view = json_of(&CategoryView::from(row.clone()))?;
            view["tree"] = Value::String(choice.label);
            rows.push(view);
        }
        Ok(page_of(rows, offset, limit))
    }

    async fn one(state: &AppState, id: i64) -> Result<Value, ApiError> {
        json_of(&CategoryView::from(
            categories::get_category(&state.db, id).await?,
        ))
    }

    async fn create(state: &AppState, body: Map<String, Value>) -> Result<i64, ApiError> {
        let request: CategoryRequest = read(body, state.settings.currency)?;
        Ok(
            categories::create_category(&state.db, &state.cache, request.into())
                .await?
                .id,
        )
    }

    async fn update(state: &AppState, id: i64, body: Map<String, Value>) -> Result<(), ApiError> {
        let changes: CategoryChanges = read(body, state.settings.currency)?;
        categories::update_category(&state.db, &state.cache, id, changes.into()).await?;
        Ok(())
    }

    async fn delete(state: &AppState, id: i64) -> Result<(), ApiError> {
        categories::delete_category(&state.db, &state.cache, id).await
    }
}

pub struct Coupons;

impl Resource for Coupons {
    const PATH: &'static str = "coupons";
    const SECTION: &'static str = "coupons";
    const TITLE: &'static str = "Coupons";
    const ONE: &'static str = "coupon";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("code", "Code"),
        ("kind", "Kind"),
        ("value", "Value"),
        ("uses", "Used"),
        ("max_uses", "Limit"),
        ("valid_until", "Until"),
        ("is_active", "Active"),
    ];

    async fn fields(_: &AppState) -> Result<Vec<Field>, ApiError> {
        let kinds = vec![
            ("percent".to_owned(), "Percent of the subtotal".to_owned()),
            ("fixed".to_owned(), "Fixed amount".to_owned()),
        ];
        Ok(vec![
            Field::new("code", "Code", Input::Text),
            Field::new("kind", "Kind", Input::Select).options(kinds),
            Field::new("value", "Value", Input::Text)
                .hint("A percentage such as 12.5, or an amount such as 5.00."),
            Field::new("min_order_amount", "Minimum subtotal", Input::Text),
            Field::new("valid_from", "Valid from", Input::DateTime).clearable(),
            Field::new("valid_until", "Valid until", Input::DateTime).clearable(),
            Field::new("max_uses", "Uses in all (empty: no limit)", Input::Text).clearable(),
            Field::new(
                "max_uses_per_user",
                "Uses per customer (empty: no limit)",
                Input::Text,
            )
            .clearable(),
            Field::new("is_active", "Active", Input::Check),
        ])
    }

    async fn list(
        state: &AppState,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Value>), ApiError> {
        let (count, rows) = coupons::list_coupons(&state.db, offset, limit).await?;
        let currency = state.settings.currency;
        let views = rows
            .into_iter()
            .map(|r| json_of(&CouponView::new(r, currency)));
        Ok((count, views.collect::<Result<_, _>>()?))
    }

    async fn one(state: &AppState, id: i64) -> Result<Value, ApiError> {
        json_of(&CouponView::new(
            coupons::get_coupon(&state.db, id).await?,
            state.settings.currency,
        ))
    }

    async fn create(state: &AppState, body: Map<String, Value>) -> Result<i64, ApiError> {
        let currency = state.settings.currency;
        let request: CouponRequest = read(body, currency)?;
        Ok(coupons::create_coupon(&state.db, currency, request.into())
            .await?
            .id)
    }

    async fn update(state: &AppState, id: i64, body: Map<String, Value>) -> Result<(), ApiError> {
        let currency = state.settings.currency;
        let changes: CouponChanges = read(body, currency)?;
        coupons::update_coupon(&state.db, currency, id, changes.into()).await?;
        Ok(())
    }

    async fn delete(state: &AppState, id: i64) -> Result<(), ApiError> {
        coupons::delete_coupon(&state.db, id).await
    }
}

pub struct Zones;

impl Resource for Zones {
    const PATH: &'static str = "shipping/zones";
    const SECTION: &'static str = "shipping";
    const TITLE: &'static str = "Shipping zones";
    const ONE: &'static str = "zone";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("name", "Name"),
        ("countries", "Countries"),
        ("regions", "Regions"),
    ];

    async fn fields(_: &AppState) -> Result<Vec<Field>, ApiError> {
        Ok(vec![
            Field::new("name", "Name", Input::Text),
            Field::new(
                "countries",
                "Countries (ISO codes, separated by commas)",
                Input::List,
            )
            .hint("Such as US, CA. Its methods are under Shipping methods."),
            Field::new("regions", "Only these regions of a country", Input::Regions)
                .hint("Such as US: CA, NY; CA: ON. Empty: the whole countries.")
                .clearable(),
        ])
    }

    async fn list(
        state: &AppState,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Value>), ApiError> {
        let (count, rows) = shipping::list_zones(&state.db, offset, limit).await?;
        let views = rows
            .iter()
            .map(|(zone, areas)| json_of(&ZoneView::new(zone.clone(), areas)));
        Ok((count, views.collect::<Result<_, _>>()?))
    }

    async fn one(state: &AppState, id: i64) -> Result<Value, ApiError> {
        let (zone, areas) = shipping::get_zone(&state.db, id).await?;
        json_of(&ZoneView::new(zone, &areas))
    }

    async fn create(state: &AppState, mut body: Map<String, Value>) -> Result<i64, ApiError> {
        if body.get("regions").is_some_and(Value::is_null) {
            body.remove("regions");
        }
        let request: ZoneRequest = read(body, state.settings.currency)?;
        let (zone, _) = shipping::create_zone(&state.db, &state.cache, request.input).await?;
        Ok(zone.id)
    }

    async fn update(
        state: &AppState,
        id: i64,
        mut body: Map<String, Value>,
    ) -> Result<(), ApiError> {
        if body.get("regions").is_some_and(Value::is_null) {
            body.insert("regions".to_owned(), Value::Object(Map::new()));
        }
        let changes: ZoneChanges = read(body, state.settings.currency)?;
        shipping::update_zone(&state.db, &state.cache, id, changes.input).await?;
        Ok(())
    }

    async fn delete(state: &AppState, id: i64) -> Result<(), ApiError> {
        shipping::delete_zone(&state.db, &state.cache, id).await
    }
}

pub struct Methods;

impl Resource for Methods {
    const PATH: &'static str = "shipping/methods";
    const SECTION: &'static str = "shipping";
    const TITLE: &'static str = "Shipping methods";
    const ONE: &'static str = "method";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("name", "Name"),
        ("zone", "Zone"),
        ("kind", "Kind"),
        ("price", "Price"),
        ("rates", "Weight bands"),
        ("free_over", "Free over"),
        ("is_active", "Active"),
    ];
    const SEE_ALSO: &'static [(&'static str, &'static str)] =
        &[("/admin/shipping/zones/", "Shipping zones")];

    async fn fields(state: &AppState) -> Result<Vec<Field>, ApiError> {
        let (_, zones) = shipping::list_zones(&state.db, 0, MANY).await?;
        let zones = zones
            .into_iter()
            .map(|(zone, _)| (zone.id.to_string(), zone.name))
            .collect();
        let kinds = vec![
            ("flat".to_owned(), "One price".to_owned()),
            ("weight".to_owned(), "By weight".to_owned()),
        ];
        Ok(vec![
            Field::new("zone", "Zone", Input::Select).options(zones),
            Field::new("name", "Name", Input::Text),
            Field::new("kind", "Kind", Input::Select).options(kinds),
            Field::new("price", "Price (one price)", Input::Text).clearable(),
            Field::new("rates", "Weight bands (by weight)", Input::Bands)
                .hint("Grams up to and the price: 1000: 4.50, 5000: 9.90")
                .clearable(),
            Field::new("free_over", "Free over (empty: never)", Input::Text).clearable(),
            Field::new("min_days", "Days at least", Input::Text).clearable(),
            Field::new("max_days", "Days at most", Input::Text).clearable(),
            Field::new("tax_class", "Tax class", Input::Text),
            Field::new("is_active", "Active", Input::Check),
        ])
    }

    async fn list(
        state: &AppState,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Value>), ApiError> {
        let (count, rows) = shipping::list_methods(&state.db, None, offset, limit).await?;
        let currency = state.settings.currency;
        let views = rows
            .into_iter()
            .map(|r| json_of(&MethodView::new(r, currency)));
        Ok((count, views.collect::<Result<_, _>>()?))
    }

    async fn one(state: &AppState, id: i64) -> Result<Value, ApiError> {
        json_of(&MethodView::new(
            shipping::get_method(&state.db, id).await?,
            state.settings.currency,
        ))
    }

    async fn create(state: &AppState, body: Map<String, Value>) -> Result<i64, ApiError> {
        let request: MethodRequest = read(body, state.settings.currency)?;
        let row = shipping::create_method(&state.db, &state.cache, request.input).await?;
        id_of(&json_of(&MethodView::new(row, state.settings.currency))?)
    }

    async fn update(state: &AppState, id: i64, body: Map<String, Value>) -> Result<(), ApiError> {
        let changes: MethodChanges = read(body, state.settings.currency)?;
        shipping::update_method(&state.db, &state.cache, id, changes.input).await?;
        Ok(())
    }

    async fn delete(state: &AppState, id: i64) -> Result<(), ApiError> {
        shipping::delete_method(&state.db, &state.cache, id).await
    }
}

pub struct TaxRates;

impl Resource for TaxRates {
    const PATH: &'static str = "tax/rates";
    const SECTION: &'static str = "tax";
    const TITLE: &'static str = "Tax rates";
    const ONE: &'static str = "rate";
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("name", "Name"),
        ("country", "Country"),
        ("region", "Region"),
        ("tax_class", "Class"),
        ("rate", "Rate (%)"),
    ];

    async fn fields(_: &AppState) -> Result<Vec<Field>, ApiError> {
        Ok(vec![
            Field::new("name", "Name", Input::Text)
                .hint("Shown on orders and invoices, such as VAT."),
            Field::new("country", "Country (ISO code)", Input::Text),
            Field::new("region", "Region (empty: the whole country)", Input::Text),
            Field::new("tax_class", "Tax class (empty: standard)", Input::Text),
            Field::new("rate", "Rate in percent", Input::Text).hint("Such as 8.25 or 19."),
        ])
    }

    async fn list(
        state: &AppState,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Value>), ApiError> {
        let (count, rows) = tax::list_rates(&state.db, None, offset, limit).await?;
        let views = rows.into_iter().map(|r| json_of(&RateView::from(r)));
        Ok((count, views.collect::<Result<_, _>>()?))
    }

    async fn one(state: &AppState, id: i64) -> Result<Value, ApiError> {
        json_of(&RateView::from(tax::get_rate(&state.db, id).await?))
    }

    async fn create(state: &AppState, body: Map<String, Value>) -> Result<i64, ApiError> {
        let request: RateRequest = read(body, state.settings.currency)?;
        Ok(tax::create_rate(&state.db, &state.cache, request.input)
            .await?
            .id)
    }

    async fn update(state: &AppState, id: i64, body: Map<String, Value>) -> Result<(), ApiError> {
        let changes: RateChanges = read(body, state.settings.currency)?;
        tax::update_rate(&state.db, &state.cache, id, changes.input).await?;
        Ok(())
    }

    async fn delete(state: &AppState, id: i64) -> Result<(), ApiError> {
        tax::delete_rate(&state.db, &state.cache, id).await
    }
}
