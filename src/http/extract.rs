//! Request extractors: JSON bodies read the contract's way, and typed field access that collects
//! DRF-style per-field messages.
//!
//! A body goes through three gates before a handler sees it: the `Content-Type` must be JSON
//! (415 otherwise), it must fit `EMPORIUM_MAX_BODY_SIZE` (413), and it must parse to a JSON
//! object (400 `{"detail"}`). serde_json's recursion limit turns absurdly deep nesting into a
//! parse error instead of a stack overflow. Then [`Fields`] reads typed values out of the object,
//! recording `{"field": ["message"]}` errors, and ignores every key the endpoint did not ask
//! for, so nothing a client adds is ever written (no mass assignment).

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult, FieldErrors, bad_request};
use crate::money::{Currency, Money};
use crate::state::AppState;

/// The body of a request, checked to be a JSON object.
#[derive(Debug, Clone, Default)]
pub struct JsonObject(pub Map<String, Value>);

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads the whole body, never more than `limit` bytes (413 past it).
pub async fn read_body(body: Body, limit: usize) -> ApiResult<axum::body::Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
            || error.to_string().contains("length limit");
        if too_large {
            ApiError::PayloadTooLarge
        } else {
            bad_request("The request body could not be read.")
        }
    })
}

/// The JSON type name DRF uses in "Expected a dictionary, but got list." messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl<S> FromRequest<S> for JsonObject
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let limit = state.settings.max_body_size;
        if declared_length.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        if let Some(ct) = content_type.as_deref().filter(|ct| !is_json(ct)) {
            return Err(ApiError::UnsupportedMediaType(ct.to_owned()));
        }
        let bytes = read_body(request.into_body(), limit).await?;
        if content_type.is_none() {
            // No body and no type: an empty object, as DRF treats it.
            if bytes.is_empty() {
                return Ok(JsonObject::default());
            }
            return Err(ApiError::UnsupportedMediaType(String::new()));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject::default());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(other) => Err(bad_request(format!(
                "Invalid data. Expected a dictionary, but got {}.",
                json_type(&other)
            ))),
            Err(e) => Err(bad_request(format!("JSON parse error - {e}"))),
        }
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

/// What is wrong with a text a person typed (a field, or a query parameter such as `search`),
/// if anything: over `max` characters, or a control character — NUL and the others but tab
/// and line breaks are no text a person typed, and PostgreSQL refuses NUL in `text`.
pub fn text_problem(value: &str, max: usize) -> Option<String> {
    if value.chars().count() > max {
        return Some(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    if value.chars().any(is_forbidden_control) {
        return Some("Null characters and control characters are not allowed.".to_owned());
    }
    None
}

/// A control character that text fields refuse: any but tab, line feed and carriage return.
fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Longest password or token a request may carry.
pub const SECRET_MAX: usize = 1024;

/// A request type read from a JSON object field by field.
pub trait FromFields: Sized {
    /// Reads every field (so every problem is reported at once) and returns the value when
    /// all of them were good; problems go into `fields`.
    fn from_fields(fields: &mut Fields) -> Option<Self>;
}

/// Extracts a [`FromFields`] type from a JSON body: 415 / 413 / 400 as [`JsonObject`], then
/// 400 with one key per bad field.
#[derive(Debug, Clone)]
pub struct Form<T>(pub T);

impl<S, T> FromRequest<S> for Form<T>
where
    S: Send + Sync,
    AppState: FromRef<S>,
    T: FromFields,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let currency = AppState::from_ref(state).settings.currency;
        let JsonObject(map) = JsonObject::from_request(request, state).await?;
        let mut fields = Fields::new(map, currency);
        let value = T::from_fields(&mut fields);
        fields.finish()?;
        value
            .map(Form)
            .ok_or_else(|| bad_request("The request body is not valid."))
    }
}

/// An integer id from the path (the route's only parameter, or its last); anything that is not
/// an id is a 404, as DRF answers for a URL that matches nothing.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| super::error::not_found())?;
        params
            .iter()
            .last()
            .and_then(|(_, value)| value.parse::<i64>().ok())
            .map(PathId)
            .ok_or_else(super::error::not_found)
    }
}

/// The optional `Idempotency-Key` header: 1 to 100 visible characters, or a 400. Every
/// mutating endpoint that honours retries reads it here.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

/// Longest `Idempotency-Key` accepted.
pub const IDEMPOTENCY_KEY_MAX: usize = 100;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all("idempotency-key").iter();
        let Some(value) = values.next() else {
            return Ok(IdempotencyKey(None));
        };
        let refused = || {
            bad_request(format!(
                "Idempotency-Key must be one header of 1 to {IDEMPOTENCY_KEY_MAX} visible characters."
            ))
        };
        if values.next().is_some() {
            return Err(refused());
        }
        match value.to_str().map(str::trim) {
            Ok(key)
                if !key.is_empty()
                    && key.len() <= IDEMPOTENCY_KEY_MAX
                    && key.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Ok(IdempotencyKey(Some(key.to_owned())))
            }
            _ => Err(refused()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("Application/JSON"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("application/jsonx"));
    }

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
