//! The settings-like sections (categories, coupons, shipping zones and methods, tax rates) are
//! the same page each: a list, a form to add one, and one's page to change or delete it. A
//! [`Resource`] says what its fields are and which of its app's service functions read and
//! write it; the form's fields become the API's request body (read by the API's own request
//! type), and a row is shown as the API shows it (its JSON view), so the dashboard and the API
//! agree on every value and every error.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};

use super::guard::{Staff, StaffForm};
use super::page::{self, Refusal};
use super::service::Session;
use super::views::forms::FormErrors;
use super::views::pager::{PAGE_SIZE, Pager, offset, page_number};
use super::views::resource::{FieldView, ResourceEdit, ResourceList, RowView};
use crate::http::error::ApiError;
use crate::state::AppState;

/// How a field is typed in, and how it becomes the API's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    Text,
    LongText,
    /// One of the options (value, label).
    Select,
    /// A checkbox: `true` or `false`.
    Check,
    /// Values separated by commas: a list.
    List,
    /// `COUNTRY: REGION, REGION; COUNTRY: …`: regions by country.
    Regions,
    /// `GRAMS: PRICE, GRAMS: PRICE`: weight bands.
    Bands,
    /// A date and time on the shop's clock.
    DateTime,
}

/// One field of a form.
#[derive(Clone, Debug)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub input: Input,
    pub hint: &'static str,
    /// Left empty on a change: cleared (`null`) rather than left as it is.
    pub clearable: bool,
    pub options: Vec<(String, String)>,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, input: Input) -> Field {
        Field {
            name,
            label,
            input,
            hint: "",
            clearable: false,
            options: Vec::new(),
        }
    }

    pub fn hint(mut self, hint: &'static str) -> Field {
        self.hint = hint;
        self
    }

    pub fn clearable(mut self) -> Field {
        self.clearable = true;
        self
    }

    pub fn options(mut self, options: Vec<(String, String)>) -> Field {
        self.options = options;
        self
    }
}

/// A section of the dashboard over one of an app's resources.
pub trait Resource: Send + Sync + 'static {
    /// Under `/admin/`: `coupons`, `shipping/zones`.
    const PATH: &'static str;
    /// The navigation's section.
    const SECTION: &'static str;
    const TITLE: &'static str;
    const ONE: &'static str;
    /// The list's columns: (JSON field, heading).
    const COLUMNS: &'static [(&'static str, &'static str)];
    /// Related pages the list links to: (path, label).
    const SEE_ALSO: &'static [(&'static str, &'static str)] = &[];

    fn fields(state: &AppState) -> impl Future<Output = Result<Vec<Field>, ApiError>> + Send;
    fn list(
        state: &AppState,
        offset: u64,
        limit: u64,
    ) -> impl Future<Output = Result<(u64, Vec<Value>), ApiError>> + Send;
    fn one(state: &AppState, id: i64) -> impl Future<Output = Result<Value, ApiError>> + Send;
    fn create(
        state: &AppState,
        body: Map<String, Value>,
    ) -> impl Future<Output = Result<i64, ApiError>> + Send;
    fn update(
        state: &AppState,
        id: i64,
        body: Map<String, Value>,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    fn delete(state: &AppState, id: i64) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// The routes of `R`: `/admin/{PATH}/` (list, create), `/admin/{PATH}/{id}/` (show, change)
/// and `/admin/{PATH}/{id}/delete/`.
pub fn add<R: Resource>(router: Router<AppState>) -> Router<AppState> {
    let base = format!("/admin/{}/", R::PATH);
    router
        .route(&base, get(list::<R>).post(create::<R>))
        .route(&format!("{base}{{id}}/"), get(show::<R>).post(update::<R>))
        .route(&format!("{base}{{id}}/delete/"), post(delete::<R>))
}

/// A value as a cell or an input shows it.
fn text_of(value: &Value, input: Input, tz: chrono_tz::Tz) -> String {
    match (input, value) {
        (_, Value::Null) => String::new(),
        (Input::DateTime, Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|at| at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_else(|_| s.clone()),
        (Input::Bands, Value::Array(bands)) => bands
            .iter()
            .map(|b| format!("{}: {}", plain(&b["up_to_grams"]), plain(&b["price"])))
            .collect::<Vec<_>>()
            .join(", "),
        (_, Value::Array(items)) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        (_, Value::Object(map)) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", text_of(v, Input::List, tz)))
            .collect::<Vec<_>>()
            .join("; "),
        (_, other) => plain(other),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn split(text: &str, by: char) -> Vec<String> {
    text.split(by)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The API's value of what was typed into `field` (`None`: not given).
fn value_of(field: &Field, typed: Option<&str>, change: bool, tz: chrono_tz::Tz) -> Option<Value> {
    if field.input == Input::Check {
        return Some(json!(typed.is_some()));
    }
    let typed = typed.map(str::trim).unwrap_or("");
    if typed.is_empty() {
        return (change && field.clearable).then_some(Value::Null);
    }
    Some(match field.input {
        Input::List => json!(split(typed, ',')),
        Input::Regions => Value::Object(
            split(typed, ';')
                .iter()
                .map(|entry| match entry.split_once(':') {
                    Some((country, regions)) => {
                        (country.trim().to_owned(), json!(split(regions, ',')))
                    }
                    None => (entry.clone(), json!([])),
                })
                .collect(),
        ),
        Input::Bands => Value::Array(
            split(typed, ',')
                .iter()
                .map(|band| match band.split_once(':') {
                    Some((grams, price)) => {
                        json!({"up_to_grams": grams.trim(), "price": price.trim()})
                    }
                    None => json!({"up_to_grams": band, "price": ""}),
                })
                .collect(),
        ),
        // The shop's clock; what does not read as a date goes as typed, for the API to refuse.
        Input::DateTime => NaiveDateTime::parse_from_str(typed, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|local| tz.from_local_datetime(&local).earliest())
            .map_or_else(
                || json!(typed),
                |at| json!(at.with_timezone(&Utc).to_rfc3339()),
            ),
        _ => json!(typed),
    })
}

/// The request body of a form of `fields`.
fn body_of(
    fields: &[Field],
    form: &StaffForm,
    change: bool,
    tz: chrono_tz::Tz,
) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|field| {
            Some((
                field.name.to_owned(),
                value_of(field, form.get(field.name), change, tz)?,
            ))
        })
        .collect()
}

/// The form's fields filled with `values` (as typed, or as the API shows the row).
fn field_views(
    fields: &[Field],
    values: &dyn Fn(&Field) -> String,
    checked: &dyn Fn(&Field) -> bool,
) -> Vec<FieldView> {
    fields
        .iter()
        .map(|f| FieldView {
            name: f.name,
            label: f.label,
            kind: match f.input {
                Input::LongText => "textarea",
                Input::Select => "select",
                Input::Check => "checkbox",
                Input::DateTime => "datetime-local",
                _ => "text",
            },
            hint: f.hint,
            value: values(f),
            checked: checked(f),
            options: f.options.clone(),
        })
        .collect()
}

fn typed_views(fields: &[Field], form: Option<&StaffForm>) -> Vec<FieldView> {
    field_views(
        fields,
        &|f| {
            form.and_then(|form| form.get(f.name))
                .unwrap_or("")
                .to_owned()
        },
        &|f| form.map_or(f.name == "is_active", |form| form.get(f.name).is_some()),
    )
}

#[derive(serde::Deserialize)]
struct ListQuery {
    page: Option<String>,
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("Created."),
        "saved" => Some("Saved."),
        "deleted" => Some("Deleted."),
        _ => None,
    }
}

async fn list_page<R: Resource>(
    state: &AppState,
    staff: &Session,
    number: u64,
    form: Option<&StaffForm>,
) -> Result<ResourceList, Refusal> {
    let fields = R::fields(state).await?;
    let (count, rows) = R::list(state, offset(number), PAGE_SIZE).await?;
    let tz = state.settings.time_zone;
    let path = format!("/admin/{}/", R::PATH);
    Ok(ResourceList {
        layout: super::routes::layout(state, staff, R::SECTION),
        title: R::TITLE,
        one: R::ONE,
        path: path.clone(),
        columns: R::COLUMNS.iter().map(|(_, heading)| *heading).collect(),
        see_also: R::SEE_ALSO,
        rows: rows
            .iter()
            .map(|row| RowView {
                id: row["id"].as_i64().unwrap_or(0),
                cells: R::COLUMNS
                    .iter()
                    .map(|(key, _)| {
                        let input = fields
                            .iter()
                            .find(|f| f.name == *key)
                            .map_or(Input::Text, |f| f.input);
                        text_of(&row[*key], input, tz)
                    })
                    .collect(),
            })
            .collect(),
        pager: Pager::new(&path, &[], number, count),
        fields: typed_views(&fields, form),
        errors: FormErrors::none(),
        notice: None,
    })
}

async fn list<R: Resource>(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Query(query): Query<ListQuery>,
) -> Response {
    match list_page::<R>(&state, &staff, page_number(query.page.as_deref()), None).await {
        Ok(mut page) => {
            page.notice = notice(query.done.as_deref());
            page::render(&page)
        }
        Err(refusal) => refusal.page(),
    }
}

async fn create<R: Resource>(State(state): State<AppState>, form: StaffForm) -> Response {
    let created = async {
        let fields = R::fields(&state).await?;
        R::create(
            &state,
            body_of(&fields, &form, false, state.settings.time_zone),
        )
        .await
    };
    match created.await {
        Ok(id) => page::see_other(&format!("/admin/{}/{id}/?done=created", R::PATH)),
        Err(error) => match list_page::<R>(&state, &form.staff, 1, Some(&form)).await {
            Ok(mut page) => {
                let (status, errors) = FormErrors::of(error);
                page.errors = errors;
                page::render_with(status, &page)
            }
            Err(refusal) => refusal.page(),
        },
    }
}

async fn edit_page<R: Resource>(
    state: &AppState,
    staff: &Session,
    id: i64,
    form: Option<&StaffForm>,
) -> Result<ResourceEdit, Refusal> {
    let fields = R::fields(state).await?;
    let row = R::one(state, id).await.map_err(|e| match e {
        ApiError::NotFound(_) => Refusal::NotFound,
        other => Refusal::Api(other),
    })?;
    let tz = state.settings.time_zone;
    let views = match form {
        Some(_) => typed_views(&fields, form),
        None => field_views(&fields, &|f| text_of(&row[f.name], f.input, tz), &|f| {
            row[f.name].as_bool().unwrap_or(false)
        }),
    };
    Ok(ResourceEdit {
        layout: super::routes::layout(state, staff, R::SECTION),
        title: R::TITLE,
        one: R::ONE,
        path: format!("/admin/{}/", R::PATH),
        id,
        fields: views,
        errors: FormErrors::none(),
        notice: None,
    })
}

async fn show<R: Resource>(
    State(state): State<AppState>,
    Staff(staff): Staff,
    Path(id): Path<i64>,
    Query(query): Query<ListQuery>,
) -> Response {
    match edit_page::<R>(&state, &staff, id, None).await {
        Ok(mut page) => {
            page.notice = notice(query.done.as_deref());
            page::render(&page)
        }
        Err(refusal) => refusal.page(),
    }
}

async fn refused<R: Resource>(
    state: &AppState,
    form: &StaffForm,
    id: i64,
    error: ApiError,
    typed: bool,
) -> Response {
    let (status, errors) = FormErrors::of(error);
    match edit_page::<R>(state, &form.staff, id, typed.then_some(form)).await {
        Ok(mut page) => {
            page.errors = errors;
            page::render_with(status, &page)
        }
        Err(refusal) => refusal.page(),
    }
}

async fn update<R: Resource>(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    let updated = async {
        let fields = R::fields(&state).await?;
        R::update(
            &state,
            id,
            body_of(&fields, &form, true, state.settings.time_zone),
        )
        .await
    };
    match updated.await {
        Ok(()) => page::see_other(&format!("/admin/{}/{id}/?done=saved", R::PATH)),
        Err(error) => refused::<R>(&state, &form, id, error, true).await,
    }
}

async fn delete<R: Resource>(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: StaffForm,
) -> Response {
    match R::delete(&state, id).await {
        // Deleted, or gone already (a second click).
        Ok(()) | Err(ApiError::NotFound(_)) => {
            page::see_other(&format!("/admin/{}/?done=deleted", R::PATH))
        }
        Err(error) => refused::<R>(&state, &form, id, error, false).await,
    }
}

/// The id of a row as the API shows it (its JSON view's `id`).
pub fn id_of(view: &Value) -> Result<i64, ApiError> {
    view["id"]
        .as_i64()
        .ok_or_else(|| crate::http::error::internal("a view without an id"))
}

/// A row as the API shows it.
pub fn json_of<T: serde::Serialize>(view: &T) -> Result<Value, ApiError> {
    serde_json::to_value(view).map_err(crate::http::error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_becomes_the_api_s_values() {
        let tz = chrono_tz::Tz::UTC;
        let bands = Field::new("rates", "Rates", Input::Bands);
        assert_eq!(
            value_of(&bands, Some("1000: 4.50, 5000:9.90"), false, tz),
            Some(
                json!([{"up_to_grams": "1000", "price": "4.50"}, {"up_to_grams": "5000", "price": "9.90"}])
            )
        );
        let regions = Field::new("regions", "Regions", Input::Regions);
        assert_eq!(
            value_of(&regions, Some("US: CA, NY; CA: ON"), false, tz),
            Some(json!({"US": ["CA", "NY"], "CA": ["ON"]}))
        );
        let list = Field::new("countries", "Countries", Input::List);
        assert_eq!(
            value_of(&list, Some(" DE, FR ,"), false, tz),
            Some(json!(["DE", "FR"]))
        );
        let until = Field::new("valid_until", "Until", Input::DateTime).clearable();
        assert_eq!(
            value_of(&until, Some(""), true, tz),
            Some(Value::Null),
            "cleared on a change"
        );
        assert_eq!(
            value_of(&until, Some(""), false, tz),
            None,
            "not given on a creation"
        );
        assert_eq!(
            value_of(
                &until,
                Some("2026-12-24T18:30"),
                false,
                chrono_tz::Europe::Berlin
            ),
            Some(json!("2026-12-24T17:30:00+00:00"))
        );
        let active = Field::new("is_active", "Active", Input::Check);
        assert_eq!(value_of(&active, None, true, tz), Some(json!(false)));
    }

    #[test]
    fn values_show_as_they_were_typed() {
        let tz = chrono_tz::Tz::UTC;
        let bands = json!([{"up_to_grams": 1000, "price": "4.50"}]);
        assert_eq!(text_of(&bands, Input::Bands, tz), "1000: 4.50");
        assert_eq!(
            text_of(&json!({"US": ["CA", "NY"]}), Input::Regions, tz),
            "US: CA, NY"
        );
        assert_eq!(
            text_of(
                &json!("2026-12-24T17:30:00Z"),
                Input::DateTime,
                chrono_tz::Europe::Berlin
            ),
            "2026-12-24T18:30"
        );
    }
}
