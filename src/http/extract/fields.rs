//! Typed field access to a JSON object: [`FieldValue`] conversions with DRF's messages, and
//! [`Fields`], which collects `{"field": ["message"]}` errors and reads nothing it was not asked
//! for.

use serde_json::{Map, Value};

use super::text::text_problem;
use crate::http::error::{ApiResult, FieldErrors};
use crate::money::{Currency, Money};

/// The JSON type name DRF uses in "Expected a dictionary, but got list." messages.
pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A value that can be read out of a JSON field, with DRF's message when it cannot.
pub trait FieldValue: Sized {
    /// Converts, or returns the message for the field.
    fn from_json(value: &Value) -> Result<Self, String>;
}

impl FieldValue for String {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err("Not a valid string.".to_owned()),
        }
    }
}

impl FieldValue for i64 {
    /// A JSON integer, or a string of one; like DRF, a whole number written with a zero
    /// fraction (`2.0`, `"2.00"`, which an app's JSON encoder sends for a double) is one too.
    fn from_json(value: &Value) -> Result<Self, String> {
        const MESSAGE: &str = "A valid integer is required.";
        let whole = |text: &str| {
            let text = text.trim();
            let digits = match text.split_once('.') {
                Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => whole,
                Some(_) => return None,
                None => text,
            };
            digits.parse::<i64>().ok()
        };
        match value {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| whole(&n.to_string()))
                .ok_or_else(|| MESSAGE.to_owned()),
            Value::String(s) => whole(s).ok_or_else(|| MESSAGE.to_owned()),
            _ => Err(MESSAGE.to_owned()),
        }
    }
}

impl FieldValue for bool {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
            Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err("Must be a valid boolean.".to_owned()),
            },
            _ => Err("Must be a valid boolean.".to_owned()),
        }
    }
}

impl FieldValue for uuid::Uuid {
    fn from_json(value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| "Must be a valid UUID.".to_owned())
    }
}

impl FieldValue for chrono::DateTime<chrono::Utc> {
    /// RFC 3339 with an offset (`2026-11-24T10:15:00Z`), kept to the microsecond every engine
    /// stores.
    fn from_json(value: &Value) -> Result<Self, String> {
        use chrono::SubsecRound;
        value
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|at| at.with_timezone(&chrono::Utc).trunc_subsecs(6))
            .ok_or_else(|| {
                "Datetime has wrong format. Use one of these formats instead: \
                 YYYY-MM-DDThh:mm:ss[.uuuuuu]Z or with an offset (+HH:MM)."
                    .to_owned()
            })
    }
}

impl FieldValue for Value {
    fn from_json(value: &Value) -> Result<Self, String> {
        Ok(value.clone())
    }
}

/// Typed access to a JSON object that collects per-field errors.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    errors: FieldErrors,
    currency: Currency,
}

impl Fields {
    /// Wraps a request object; money fields are read in `currency`.
    pub fn new(map: Map<String, Value>, currency: Currency) -> Fields {
        Fields {
            map,
            errors: FieldErrors::new(),
            currency,
        }
    }

    /// The shop's currency, for money fields.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True when the client sent `name` (even as `null`).
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    fn convert<T: FieldValue>(&mut self, name: &str, value: &Value) -> Option<T> {
        match T::from_json(value) {
            Ok(v) => Some(v),
            Err(message) => {
                self.errors.add(name, message);
                None
            }
        }
    }

    /// A field that must be present and not null.
    pub fn required<T: FieldValue>(&mut self, name: &str) -> Option<T> {
        match self.map.get(name).cloned() {
            None => {
                self.errors.add(name, "This field is required.");
                None
            }
            Some(Value::Null) => {
                self.errors.add(name, "This field may not be null.");
                None
            }
            Some(value) => self.convert(name, &value),
        }
    }

    /// A field that may be absent (`None`) but not null.
    pub fn optional<T: FieldValue>(&mut self, name: &str) -> Option<T> {
        match self.map.get(name).cloned() {
            None => None,
            Some(Value::Null) => {
                self.errors.add(name, "This field may not be null.");
                None
            }
            Some(value) => self.convert(name, &value),
        }
    }

    /// A field a creation requires and a change (`partial`) may leave out: [`Fields::required`]
    /// or [`Fields::optional`].
    pub fn given<T: FieldValue>(&mut self, name: &str, partial: bool) -> Option<T> {
        if partial {
            self.optional(name)
        } else {
            self.required(name)
        }
    }

    /// A field that may be absent (`None`), null (`Some(None)`) or a value (`Some(Some(v))`).
    pub fn nullable<T: FieldValue>(&mut self, name: &str) -> Option<Option<T>> {
        match self.map.get(name).cloned() {
            None => None,
            Some(Value::Null) => Some(None),
            Some(value) => self.convert(name, &value).map(Some),
        }
    }

    fn checked_text(
        &mut self,
        name: &str,
        value: String,
        max: usize,
        blank: bool,
    ) -> Option<String> {
        // DRF trims surrounding whitespace of text fields.
        let value = value.trim().to_owned();
        if value.is_empty() && !blank {
            self.errors.add(name, "This field may not be blank.");
            return None;
        }
        if let Some(problem) = text_problem(&value, max) {
            self.errors.add(name, problem);
            return None;
        }
        Some(value)
    }

    /// A required, non-blank text of at most `max` characters, trimmed.
    pub fn required_text(&mut self, name: &str, max: usize) -> Option<String> {
        let value = self.required::<String>(name)?;
        self.checked_text(name, value, max, false)
    }

    /// An optional text of at most `max` characters, trimmed; may be blank.
    pub fn optional_text(&mut self, name: &str, max: usize) -> Option<String> {
        let value = self.optional::<String>(name)?;
        self.checked_text(name, value, max, true)
    }

    /// An optional, non-blank text (present but blank is an error), trimmed.
    pub fn optional_nonblank_text(&mut self, name: &str, max: usize) -> Option<String> {
        let value = self.optional::<String>(name)?;
        self.checked_text(name, value, max, false)
    }

    /// A non-blank text a creation requires and a change (`partial`) may leave out:
    /// [`Fields::required_text`] or [`Fields::optional_nonblank_text`].
    pub fn given_text(&mut self, name: &str, max: usize, partial: bool) -> Option<String> {
        if partial {
            self.optional_nonblank_text(name, max)
        } else {
            self.required_text(name, max)
        }
    }

    /// A password-like field: required, not blank, at most [`SECRET_MAX`] characters (a longer
    /// one would only cost hashing time), never trimmed or echoed.
    pub fn secret(&mut self, name: &str) -> Option<String> {
        let value = self.required::<String>(name)?;
        if value.is_empty() {
            self.errors.add(name, "This field may not be blank.");
            return None;
        }
        if value.chars().count() > SECRET_MAX {
            self.errors.add(
                name,
                format!("Ensure this field has no more than {SECRET_MAX} characters."),
            );
            return None;
        }
        Some(value)
    }

    /// An optional amount of money in the shop's currency, ≥ 0: a decimal string (or a whole
    /// number), never a float.
    pub fn money(&mut self, name: &str) -> Option<Money> {
        let value = self.optional::<Value>(name)?;
        let text = match &value {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => {
                self.error(name, "A valid number is required.");
                return None;
            }
        };
        match Money::parse(&text, self.currency) {
            Ok(money) if money.minor() >= 0 => Some(money),
            Ok(_) => {
                self.error(name, "Ensure this value is greater than or equal to 0.");
                None
            }
            Err(e) => {
                self.error(name, e.to_string());
                None
            }
        }
    }

    /// An optional integer within `min..=max`, with DRF's messages outside it.
    pub fn integer_in(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        let value = self.optional::<i64>(name)?;
        self.check_range(name, value, min, max)
    }

    /// An optional, nullable integer within `min..=max`.
    pub fn nullable_integer_in(&mut self, name: &str, min: i64, max: i64) -> Option<Option<i64>> {
        match self.nullable::<i64>(name)? {
            None => Some(None),
            Some(value) => self.check_range(name, value, min, max).map(Some),
        }
    }

    fn check_range(&mut self, name: &str, value: i64, min: i64, max: i64) -> Option<i64> {
        if value < min {
            self.error(
                name,
                format!("Ensure this value is greater than or equal to {min}."),
            );
            return None;
        }
        if value > max {
            self.error(
                name,
                format!("Ensure this value is less than or equal to {max}."),
            );
            return None;
        }
        Some(value)
    }

    /// An optional nested object read as `T`; its problems are reported under `name`
    /// (`{"name": {"field": ["…"]}}`).
    pub fn nested<T: FromFields>(&mut self, name: &str) -> Option<T> {
        let value = self.optional::<Value>(name)?;
        let Value::Object(map) = value else {
            self.error(
                name,
                format!(
                    "Invalid data. Expected a dictionary, but got {}.",
                    json_type(&value)
                ),
            );
            return None;
        };
        let mut inner = Fields::new(map, self.currency);
        let parsed = T::from_fields(&mut inner);
        if inner.errors.is_empty() {
            parsed
        } else {
            self.errors.nest(name, inner.errors);
            None
        }
    }

    /// Records a message for `name` (a rule beyond the type, e.g. a range).
    pub fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors.add(name, message);
    }

    /// True when `name` already has an error.
    pub fn has_error(&self, name: &str) -> bool {
        self.errors.has(name)
    }

    /// `Ok(())` when every read succeeded, else the 400 with every message.
    pub fn finish(self) -> ApiResult<()> {
        self.errors.into_result()
    }
}
/// Longest password or token a request may carry.
pub const SECRET_MAX: usize = 1024;

/// A request type read from a JSON object field by field.
pub trait FromFields: Sized {
    /// Reads every field (so every problem is reported at once) and returns the value when
    /// all of them were good; problems go into `fields`.
    fn from_fields(fields: &mut Fields) -> Option<Self>;
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::ApiError;
    use serde_json::json;

    #[test]
    fn fields_report_every_problem_under_its_name() {
        let map = json!({"quantity": "many", "active": "perhaps", "name": null, "ignored": 1});
        let Value::Object(map) = map else {
            unreachable!("literal is an object")
        };
        let mut fields = Fields::new(map, Currency::USD);
        assert_eq!(fields.required::<i64>("quantity"), None);
        assert_eq!(fields.optional::<bool>("active"), None);
        assert_eq!(fields.required::<String>("name"), None);
        assert_eq!(fields.required::<String>("email"), None);
        let Err(ApiError::Validation(errors)) = fields.finish() else {
            panic!("expected validation errors")
        };
        let mut expected = FieldErrors::new();
        expected.add("quantity", "A valid integer is required.");
        expected.add("active", "Must be a valid boolean.");
        expected.add("name", "This field may not be null.");
        expected.add("email", "This field is required.");
        assert_eq!(errors, expected);
    }

    #[test]
    fn integers_beyond_64_bits_are_not_integers() {
        let value: Value =
            serde_json::from_str("123456789012345678901234567890").expect("valid JSON");
        assert!(i64::from_json(&value).is_err());
        assert_eq!(i64::from_json(&json!(" 42 ")), Ok(42));
        assert!(i64::from_json(&json!(4.5)).is_err());
        assert_eq!(i64::from_json(&json!(2.0)), Ok(2));
        assert_eq!(i64::from_json(&json!("2.00")), Ok(2));
        assert!(i64::from_json(&json!("2.5")).is_err());
        assert!(i64::from_json(&json!(1e300)).is_err());
        assert!(i64::from_json(&json!(".")).is_err());
    }
}
