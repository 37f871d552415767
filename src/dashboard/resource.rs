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
use serde_json::{Map, Value};

pub use super::fields::{Field, Input};
use super::fields::{body_of, field_views, text_of, typed_views};
use super::guard::{Staff, StaffForm};
use super::page::{self, Refusal};
use super::service::Session;
use super::views::forms::FormErrors;
use super::views::pager::{PAGE_SIZE, Pager, offset, page_number};
use super::views::resource::{ResourceEdit, ResourceList, RowView};
use crate::http::error::ApiError;
use crate::state::AppState;

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
