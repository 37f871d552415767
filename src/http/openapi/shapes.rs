//! Rules the whole document follows, applied once over every operation and schema so that no
//! app has to repeat them: how lists, times, pages, headers and always-present fields are
//! declared. A client generated from the document then needs no hand edits.

use std::collections::BTreeSet;

use utoipa::Modify;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{
    ArrayItems, KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// Property names that hold a time: RFC 3339 in UTC (`date-time`), whatever their Rust type.
pub fn is_timestamp(name: &str) -> bool {
    name.ends_with("_at") || matches!(name, "date_joined" | "valid_from" | "valid_until")
}

/// Every operation of the document, with its path.
fn operations_mut(openapi: &mut OpenApi) -> impl Iterator<Item = (&String, &mut Operation)> {
    openapi.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        .map(move |operation| (path, operation))
    })
}

/// One named schema per resource: `Page_ProductView`'s `results` are `$ref: ProductView`, not
/// a copy of it (utoipa inlines a generic's argument).
pub struct PagesByReference;

impl Modify for PagesByReference {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let names: Vec<String> = components.schemas.keys().cloned().collect();
        for name in names {
            let Some(item) = name.strip_prefix("Page_") else {
                continue;
            };
            if !components.schemas.contains_key(item) {
                continue;
            }
            if let Some(RefOr::T(Schema::Object(page))) = components.schemas.get_mut(&name)
                && let Some(RefOr::T(Schema::Array(results))) = page.properties.get_mut("results")
            {
                results.items =
                    ArrayItems::RefOrSchema(Box::new(Ref::from_schema_name(item).into()));
            }
        }
    }
}

/// Control characters a typed text refuses (all but tab, line feed and carriage return), as a
/// regular expression class: `http::extract::text`'s rule.
const CONTROLS: &str = "\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F";

/// Fields whose text is not checked as typed text (secrets and tokens have rules of their own;
/// an email without a format of its own, as login's, refuses control characters like any text).
fn is_free_text(name: &str, text: &utoipa::openapi::schema::Object) -> bool {
    let own_pattern = text.pattern.as_deref().is_some_and(|p| p != "\\S");
    text.schema_type == SchemaType::Type(Type::String)
        && text.format.is_none()
        && text.enum_values.is_none()
        && !own_pattern
        && !(name.contains("password") || name.contains("token"))
}

/// The texts people type: no control characters, as the server checks; a text that may not be
/// blank (`minLength` 1, or `pattern: \S`) has a character that is not white space.
pub struct TypedText;

fn typed_text(name: &str, schema: &mut RefOr<Schema>) {
    let RefOr::T(Schema::Object(text)) = schema else {
        return;
    };
    if !is_free_text(name, text) {
        return;
    }
    let not_blank = text.min_length.is_some_and(|n| n >= 1) || text.pattern.is_some();
    text.pattern = Some(if not_blank {
        format!("^[^{CONTROLS}]*[^\\s{CONTROLS}][^{CONTROLS}]*$")
    } else {
        format!("^[^{CONTROLS}]*$")
    });
}

impl Modify for TypedText {
    fn modify(&self, openapi: &mut OpenApi) {
        let mut bodies = BTreeSet::new();
        let schemas = serde_json::to_value(
            openapi
                .components
                .as_ref()
                .map(|c| &c.schemas)
                .cloned()
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        for (_, operation) in operations_mut(openapi) {
            let body = serde_json::to_value(&operation.request_body).unwrap_or_default();
            referenced(&body, &schemas, &mut bodies);
            for param in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(param) = param
                    && param.parameter_in == ParameterIn::Query
                    && let Some(schema) = param.schema.as_mut()
                {
                    typed_text(&param.name, schema);
                }
            }
        }
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for name in bodies {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&name) {
                for (field, schema) in &mut object.properties {
                    typed_text(field, schema);
                }
            }
        }
    }
}

/// Names for the values of an ordering enum, which are not identifiers (`-price`): generators
/// read `x-enum-varnames` (`price_desc`) instead of numbering them (`VALUE_1`).
pub struct EnumNames;

impl Modify for EnumNames {
    fn modify(&self, openapi: &mut OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for schema in components.schemas.values_mut() {
            let RefOr::T(Schema::Object(object)) = schema else {
                continue;
            };
            let Some(values) = &object.enum_values else {
                continue;
            };
            let texts: Vec<&str> = values
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
            if texts.len() != values.len() || !texts.iter().any(|v| v.starts_with('-')) {
                continue;
            }
            let names: Vec<String> = texts
                .iter()
                .map(|v| match v.strip_prefix('-') {
                    Some(field) => format!("{field}_desc"),
                    None => (*v).to_owned(),
                })
                .collect();
            let extensions = object.extensions.get_or_insert_with(Default::default);
            extensions.insert("x-enum-varnames".to_owned(), serde_json::json!(names));
        }
    }
}

/// `format: date-time` on every time ([`is_timestamp`]), in every schema.
pub struct Timestamps;

fn mark_timestamps(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(object) => {
            for (name, property) in &mut object.properties {
                if is_timestamp(name)
                    && let RefOr::T(Schema::Object(time)) = property
                {
                    time.format = Some(SchemaFormat::KnownFormat(KnownFormat::DateTime));
                }
                mark_timestamps(property);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                mark_timestamps(items);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(mark_timestamps),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(mark_timestamps),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(mark_timestamps),
        _ => {}
    }
}

impl Modify for Timestamps {
    fn modify(&self, openapi: &mut OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.schemas.values_mut().for_each(mark_timestamps);
        }
    }
}

/// Query and header parameters, and optional bodies: `page` starts at 1 (`page=0` is a 404 like
/// a page past the end); a header is a string or absent, never `null`; a body that may be left
/// out (utoipa's `Option<T>`, written `oneOf: [T, null]`) is `T`, not required; so is the body
/// of a `PATCH` none of whose fields is required (no body changes nothing).
pub struct RequestRules;

/// The names of the `PATCH` bodies without a required field.
fn optional_patches(openapi: &OpenApi) -> BTreeSet<String> {
    let Some(components) = openapi.components.as_ref() else {
        return BTreeSet::new();
    };
    components
        .schemas
        .iter()
        .filter(
            |(_, schema)| matches!(schema, RefOr::T(Schema::Object(o)) if o.required.is_empty()),
        )
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect()
}

/// `oneOf: [T, null]` → `T`.
fn strip_null(schema: &mut Option<RefOr<Schema>>) {
    if let Some(RefOr::T(Schema::OneOf(one_of))) = schema {
        let kept: Vec<RefOr<Schema>> = one_of
            .items
            .iter()
            .filter(|item| {
                !matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
            })
            .cloned()
            .collect();
        if let [only] = kept.as_slice() {
            *schema = Some(only.clone());
        }
    }
}

impl Modify for RequestRules {
    fn modify(&self, openapi: &mut OpenApi) {
        let unrequired = optional_patches(openapi);
        for item in openapi.paths.paths.values_mut() {
            let Some(RefOr::T(body)) = item.patch.as_mut().and_then(|op| op.request_body.as_mut())
            else {
                continue;
            };
            let all_optional = body.content.values().all(|content| {
                matches!(content, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if unrequired.contains(&r.ref_location)))
            });
            if all_optional {
                body.required = None;
            }
        }
        for (_, operation) in operations_mut(openapi) {
            if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
                for content in body.content.values_mut() {
                    if let RefOr::T(content) = content {
                        strip_null(&mut content.schema);
                    }
                }
            }
            for param in operation.parameters.iter_mut().flatten() {
                let RefOr::T(param) = param else { continue };
                let Some(RefOr::T(Schema::Object(schema))) = param.schema.as_mut() else {
                    continue;
                };
                match param.parameter_in {
                    ParameterIn::Query if param.name == "page" => {
                        schema.minimum = Some(1.into());
                    }
                    ParameterIn::Header => {
                        if let SchemaType::Array(types) = &schema.schema_type
                            && types.contains(&Type::Null)
                        {
                            schema.schema_type = SchemaType::Type(Type::String);
                        }
                        // `http::extract::IdempotencyKey`: 1 to 100 visible ASCII characters.
                        if param.name.eq_ignore_ascii_case("Idempotency-Key") {
                            schema.pattern = Some("^[!-~]{1,100}$".to_owned());
                            schema.min_length = Some(1);
                            schema.max_length = Some(100);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Response headers the conventions add: `Retry-After` (seconds) on every 429 and 503 under
/// `/api/`; `Idempotent-Replayed: true` on the successes of operations that take an
/// `Idempotency-Key`, when the answer is the first one's, replayed.
pub struct ResponseHeaders;

fn retry_after() -> RefOr<utoipa::openapi::header::Header> {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ))
        .description(Some("Seconds to wait before trying again."))
        .build()
        .into()
}

fn replayed() -> RefOr<utoipa::openapi::header::Header> {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["true"])),
        ))
        .description(Some(
            "`true` when this is the stored answer to an earlier request with the same \
             `Idempotency-Key`; absent on a first answer.",
        ))
        .build()
        .into()
}

impl Modify for ResponseHeaders {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, operation) in operations_mut(openapi) {
            if !path.starts_with("/api/") {
                continue;
            }
            let idempotent = operation.parameters.iter().flatten().any(|param| {
                matches!(param, RefOr::T(param) if param.parameter_in == ParameterIn::Header
                    && param.name.eq_ignore_ascii_case("Idempotency-Key"))
            });
            for (status, response) in &mut operation.responses.responses {
                let RefOr::T(response) = response else {
                    continue;
                };
                if status == "429" || status == "503" {
                    response
                        .headers
                        .insert("Retry-After".to_owned(), retry_after());
                }
                if idempotent && status.starts_with('2') {
                    response
                        .headers
                        .insert("Idempotent-Replayed".to_owned(), replayed());
                }
            }
        }
    }
}

/// Fields a response always carries, even as `null`: every nullable property of a schema that
/// only answers (no request body uses it) is `required`. No response type skips a `None` when
/// it serializes, so a nullable field is never absent; a property that is not nullable and not
/// required (`code` of [`super::AuthError`]) may be left out.
pub struct AlwaysPresent;

/// The schema names `value` refers to, directly or through other schemas.
fn referenced(value: &serde_json::Value, schemas: &serde_json::Value, seen: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(target)) = map.get("$ref")
                && let Some(name) = target.strip_prefix("#/components/schemas/")
                && seen.insert(name.to_owned())
                && let Some(schema) = schemas.get(name)
            {
                referenced(schema, schemas, seen);
            }
            map.values().for_each(|v| referenced(v, schemas, seen));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| referenced(v, schemas, seen)),
        _ => {}
    }
}

fn is_nullable(schema: &RefOr<Schema>) -> bool {
    match schema {
        RefOr::T(Schema::Object(object)) => {
            matches!(&object.schema_type, SchemaType::Array(types) if types.contains(&Type::Null))
        }
        RefOr::T(Schema::OneOf(one_of)) => one_of.items.iter().any(|item| {
            matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
        }),
        _ => false,
    }
}

impl Modify for AlwaysPresent {
    fn modify(&self, openapi: &mut OpenApi) {
        let schemas = serde_json::to_value(
            openapi
                .components
                .as_ref()
                .map(|c| &c.schemas)
                .cloned()
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        let (mut answers, mut requests) = (BTreeSet::new(), BTreeSet::new());
        for (_, operation) in operations_mut(openapi) {
            let responses = serde_json::to_value(&operation.responses).unwrap_or_default();
            referenced(&responses, &schemas, &mut answers);
            let body = serde_json::to_value(&operation.request_body).unwrap_or_default();
            referenced(&body, &schemas, &mut requests);
        }
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for name in answers.difference(&requests) {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) else {
                continue;
            };
            for (property, schema) in &object.properties {
                if is_nullable(schema) && !object.required.contains(property) {
                    object.required.push(property.clone());
                }
            }
        }
    }
}
