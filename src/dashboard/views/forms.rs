//! What a form shows after a refusal: the API's field errors beside their fields, and the
//! sentence of any other refusal above the form.

use std::collections::BTreeMap;

use axum::http::StatusCode;

use crate::dashboard::page::explain;
use crate::http::error::ApiError;

/// The errors of one form.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub fields: BTreeMap<String, Vec<String>>,
    pub general: Option<String>,
}

impl FormErrors {
    /// No errors.
    pub fn none() -> FormErrors {
        FormErrors::default()
    }

    /// The errors of `error` and the status the page answers with.
    pub fn of(error: ApiError) -> (StatusCode, FormErrors) {
        match error {
            ApiError::Validation(errors) => {
                let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (name, messages) in errors.entries() {
                    fields
                        .entry(name.clone())
                        .or_default()
                        .extend(messages.iter().cloned());
                }
                let general = fields
                    .remove("non_field_errors")
                    .map(|messages| messages.join(" "));
                (StatusCode::BAD_REQUEST, FormErrors { fields, general })
            }
            other => {
                let (status, text) = explain(other);
                (
                    status,
                    FormErrors {
                        fields: BTreeMap::new(),
                        general: Some(text),
                    },
                )
            }
        }
    }

    /// One field's error.
    pub fn field(name: &str, message: impl Into<String>) -> FormErrors {
        let mut errors = FormErrors::none();
        errors.fields.insert(name.to_owned(), vec![message.into()]);
        errors
    }

    /// The messages of field `name` (none: empty).
    pub fn on(&self, name: &str) -> &[String] {
        self.fields.get(name).map_or(&[], Vec::as_slice)
    }

    /// True when field `name` has a message.
    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }
}
