//! The pages of a [`crate::dashboard::resource::Resource`]: its list with the form to add one,
//! and one's page.

use askama::Template;

use super::Layout;
use super::forms::FormErrors;
use super::pager::Pager;

/// An input of a form, filled.
pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `textarea`, `select`, `checkbox`, `datetime-local`.
    pub kind: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub checked: bool,
    /// (value, label) of a select.
    pub options: Vec<(String, String)>,
}

/// A row of the list.
pub struct RowView {
    pub id: i64,
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "resource_list.html")]
pub struct ResourceList {
    pub layout: Layout,
    pub title: &'static str,
    pub one: &'static str,
    pub path: String,
    pub columns: Vec<&'static str>,
    pub see_also: &'static [(&'static str, &'static str)],
    pub rows: Vec<RowView>,
    pub pager: Pager,
    pub fields: Vec<FieldView>,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "resource_edit.html")]
pub struct ResourceEdit {
    pub layout: Layout,
    pub title: &'static str,
    pub one: &'static str,
    pub path: String,
    pub id: i64,
    pub fields: Vec<FieldView>,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
}
