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
                    // An error inside a field's list (`rates.0.price`) is shown beside the field,
                    // saying where: "#1 price: …".
                    let (field, inside) = match name.split_once('.') {
                        Some((field, inside)) => (field, Some(where_in(inside))),
                        None => (name.as_str(), None),
                    };
                    fields
                        .entry(field.to_owned())
                        .or_default()
                        .extend(messages.iter().map(|m| match &inside {
                            Some(at) => format!("{at}: {m}"),
                            None => m.clone(),
                        }));
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

/// Where in a field's list an error is, as a person counts: `0.price` is "#1 price".
fn where_in(path: &str) -> String {
    path.split('.')
        .map(|part| match part.parse::<usize>() {
            Ok(index) => format!("#{}", index + 1),
            Err(_) => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::FieldErrors;

    #[test]
    fn an_error_inside_a_list_is_shown_beside_the_list_saying_where() {
        let mut errors = FieldErrors::new();
        errors.add("rates.1.price", "Must be a number.");
        errors.add("name", "This field may not be blank.");
        let (status, shown) = FormErrors::of(ApiError::Validation(errors));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(shown.on("rates"), ["#2 price: Must be a number."]);
        assert_eq!(shown.on("name"), ["This field may not be blank."]);
    }
}
