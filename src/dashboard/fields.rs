//! A form's fields as the dashboard's generic pages declare them, and the two conversions
//! between what a person types and what the API reads and shows: a list typed with commas is a
//! JSON list, weight bands `GRAMS: PRICE` are objects, a date on the shop's clock is an instant,
//! an empty input on a change clears a field that can be cleared.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};

use super::guard::StaffForm;
use super::views::resource::FieldView;

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

/// A value as a cell or an input shows it.
pub(super) fn text_of(value: &Value, input: Input, tz: chrono_tz::Tz) -> String {
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
pub(super) fn value_of(
    field: &Field,
    typed: Option<&str>,
    change: bool,
    tz: chrono_tz::Tz,
) -> Option<Value> {
    if field.input == Input::Check {
        return Some(json!(typed.is_some()));
    }
    let typed = typed.map(str::trim)?;
    if typed.is_empty() {
        // On a change, a field that cannot be cleared but was emptied goes as it is, for the
        // API to refuse beside it (not "saved" with the old value kept).
        return change.then_some(if field.clearable {
            Value::Null
        } else {
            json!("")
        });
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
pub(super) fn body_of(
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
pub(super) fn field_views(
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

pub(super) fn typed_views(fields: &[Field], form: Option<&StaffForm>) -> Vec<FieldView> {
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
