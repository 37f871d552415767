//! What every OpenAPI operation shares: the error schemas, the bearer scheme, the answers the
//! conventions give, and links from a `201` to what it created. The document itself — the list
//! of every app's operations — is assembled above the apps, in `crate::openapi`. The rules the
//! whole document follows (pages, times, headers, always-present fields) are in [`shapes`].

mod shapes;

pub use shapes::{
    AlwaysPresent, EnumNames, PagesByReference, RequestRules, ResponseHeaders, Timestamps,
    TypedText, is_timestamp,
};

use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, ToSchema};

/// `{"detail": "…"}`, the body of every error that is not a field error.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A sentence for the user.
    #[schema(example = "Not found.")]
    pub detail: String,
}

/// 401: `{"detail": "…"}`; with `"code": "token_not_valid"` when the token sent is bad,
/// expired, spent or revoked (a missing token or wrong credentials have no `code`).
#[derive(Serialize, ToSchema)]
pub struct AuthError {
    /// A sentence for the user.
    #[schema(example = "Given token not valid for any token type")]
    pub detail: String,
    /// Present only for a token that is not good: the client should refresh it or log in.
    #[schema(nullable = false)]
    pub code: Option<AuthErrorCode>,
}

/// The one `code` a 401 carries.
#[derive(Serialize, ToSchema)]
pub enum AuthErrorCode {
    #[serde(rename = "token_not_valid")]
    TokenNotValid,
}

/// 409 of an order that some lines cannot fill: nothing was ordered.
#[derive(Serialize, ToSchema)]
pub struct ShortOfStock {
    #[schema(example = "Some products do not have enough stock; nothing was ordered.")]
    pub detail: String,
    /// Every line short of stock.
    pub items: Vec<ShortLine>,
}

/// A line of the cart that the stock cannot fill.
#[derive(Serialize, ToSchema)]
pub struct ShortLine {
    pub product_id: i64,
    /// The quantity in the cart.
    pub requested: i64,
    /// What can be had now (0 for a product no longer sold).
    pub available: i64,
}

/// 409 of a stock adjustment: it would go below 0, or the stock is no longer the `expected`.
#[derive(Serialize, ToSchema)]
pub struct StockConflict {
    pub detail: String,
    /// The product's stock now.
    pub stock: i64,
}

/// The bytes of a file (the invoice's PDF): `type: string, format: binary`.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// `{"field": ["message", …], "non_field_errors": […]}`; a nested object's errors nest:
/// `{"shipping_address": {"line1": ["…"]}}`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"quantity": ["Ensure this value is greater than or equal to 1."]}))]
pub struct ValidationErrors(pub std::collections::BTreeMap<String, FieldMessages>);

/// The messages of one field: a list, or per field of a nested object.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum FieldMessages {
    List(Vec<String>),
    Nested(std::collections::BTreeMap<String, Vec<String>>),
}

/// Adds the answers every operation can give because of the conventions, not because of its
/// own rules: 400 for a body or query it cannot read (field errors or `{"detail"}`), 401 for a
/// bad token, 404 for an id or a page that does not exist, 413 and 415 for a body too large or
/// of another type, 429 for the rate limits, 503 when the server sheds load or a dependency is
/// down. A generated client sees every status it can meet.
pub struct ConventionResponses;

/// Operations that never read a token, so never answer 401 for one.
const TOKENLESS: [&str; 3] = [
    "/api/auth/register/",
    "/api/auth/password/reset/",
    "/api/auth/password/reset/confirm/",
];

fn error_response(
    description: &str,
    schema: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
        .into()
}

impl Modify for ConventionResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{AnyOfBuilder, Schema};
        use utoipa::openapi::{Ref, RefOr};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(
            "BadRequest".to_owned(),
            RefOr::T(Schema::AnyOf(
                AnyOfBuilder::new()
                    .item(Ref::from_schema_name("ValidationErrors"))
                    .item(Ref::from_schema_name("ErrorDetail"))
                    .build(),
            )),
        );
        for (path, item) in &mut openapi.paths.paths {
            if !path.starts_with("/api/") {
                continue;
            }
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let has_body = operation.request_body.is_some();
                let params = operation.parameters.iter().flatten();
                let (mut has_query, mut has_page) = (false, false);
                for param in params {
                    if let RefOr::T(param) = param
                        && matches!(
                            param.parameter_in,
                            utoipa::openapi::path::ParameterIn::Query
                        )
                    {
                        has_query = true;
                        has_page |= param.name == "page";
                    }
                }
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str, schema: &str| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error_response(description, schema));
                };
                if has_body || has_query {
                    add(
                        "400",
                        "Unreadable body or query, or invalid fields",
                        "BadRequest",
                    );
                }
                if !TOKENLESS.contains(&path.as_str()) {
                    add("401", "Missing, bad or expired token", "AuthError");
                }
                if path.contains('{') || has_page {
                    add(
                        "404",
                        "No such object, or a page past the end",
                        "ErrorDetail",
                    );
                }
                if has_body {
                    add("413", "Body too large", "ErrorDetail");
                    add("415", "Body of another type", "ErrorDetail");
                }
                add("429", "Throttled; see Retry-After", "ErrorDetail");
                add(
                    "503",
                    "Busy or a dependency is down; see Retry-After",
                    "ErrorDetail",
                );
                // A 400 can be field errors or a `{"detail"}` for a body that is not JSON; a 401
                // can carry `code`.
                for (status, schema) in [("400", "BadRequest"), ("401", "AuthError")] {
                    if let Some(RefOr::T(response)) = responses.get_mut(status)
                        && let Some(RefOr::T(content)) =
                            response.content.get_mut("application/json")
                    {
                        content.schema = Some(Ref::from_schema_name(schema).into());
                    }
                }
            }
        }
    }
}

/// Links every `201` to the operations on the object it created (`POST /api/categories/` →
/// `GET, PATCH, DELETE /api/categories/{id}/` with `id` from the response's `id`), so a client
/// generator — or a stateful fuzzer — can follow what it made.
pub struct CreatedLinks;

impl Modify for CreatedLinks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::link::LinkBuilder;
        // (creating path, target path, target operations (method, operation id)).
        let mut plans = Vec::new();
        for (path, item) in &openapi.paths.paths {
            let Some(create) = &item.post else { continue };
            if !create.responses.responses.contains_key("201") {
                continue;
            }
            for (target, target_item) in &openapi.paths.paths {
                let Some(rest) = target.strip_prefix(path.as_str()) else {
                    continue;
                };
                // Exactly one more segment, and it is a parameter: `{id}/`.
                let is_one_param =
                    rest.starts_with('{') && rest.ends_with("}/") && rest.matches('/').count() == 1;
                if !is_one_param {
                    continue;
                }
                let param = rest
                    .trim_start_matches('{')
                    .trim_end_matches("}/")
                    .to_owned();
                let operations: Vec<String> =
                    [&target_item.get, &target_item.patch, &target_item.delete]
                        .into_iter()
                        .filter_map(|op| op.as_ref().and_then(|op| op.operation_id.clone()))
                        .collect();
                plans.push((path.clone(), param, operations));
            }
        }
        for (path, param, operations) in plans {
            let Some(RefOr::T(created)) = openapi
                .paths
                .paths
                .get_mut(&path)
                .and_then(|item| item.post.as_mut())
                .and_then(|op| op.responses.responses.get_mut("201"))
            else {
                continue;
            };
            // Parameters the creating path already has are passed on from the request.
            let inherited: Vec<String> = path
                .split('{')
                .skip(1)
                .filter_map(|part| part.split('}').next())
                .map(str::to_owned)
                .collect();
            for operation_id in operations {
                let mut link = LinkBuilder::new()
                    .operation_id(operation_id.clone())
                    .parameter(param.clone(), "$response.body#/id");
                for name in &inherited {
                    link = link.parameter(name.clone(), format!("$request.path.{name}"));
                }
                created.links.insert(operation_id, RefOr::T(link.build()));
            }
        }
    }
}

/// The `jwt` bearer scheme that operations with `security(("jwt" = []))` name.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("jwt", SecurityScheme::Http(scheme));
    }
}
