//! How the dashboard answers: a rendered page, a redirect after a form, or a refusal rendered
//! as a page — never the API's JSON. Every answer under `/admin/` gets the dashboard's headers
//! ([`headers`]): a content security policy that allows only this site's own files (no inline
//! script or style) and no caching of pages.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::views::ErrorPage;
use crate::http::error::ApiError;

/// Renders a template as a `200` page.
pub fn render<T: Template>(template: &T) -> Response {
    render_with(StatusCode::OK, template)
}

/// Renders a template with `status`.
pub fn render_with<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "dashboard template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "A server error occurred.",
            )
                .into_response()
        }
    }
}

/// `303 See Other` to `location` (after a form, so reloading does not post it again).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A dashboard path to come back to after sign-in: only a path under `/admin/` (never another
/// site, nor `//host`).
pub fn local_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with("/admin/")
            && !n.starts_with("/admin/login")
            && !n.contains("//")
            && !n.contains('\\')
            && n.bytes().all(|b| b.is_ascii_graphic())
    })
}

/// To the sign-in page, coming back to `next` after it.
pub fn to_sign_in(next: Option<&str>) -> Response {
    match local_next(next) {
        Some(next) => {
            let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            see_other(&format!("/admin/login/?{query}"))
        }
        None => see_other("/admin/login/"),
    }
}

/// Why a dashboard request was refused.
#[derive(Debug)]
pub enum Refusal {
    /// The form lacked the session's CSRF token or came from another site.
    Csrf,
    /// The body could not be read.
    BadRequest(&'static str),
    /// No such thing.
    NotFound,
    /// A service's refusal (its status and sentence).
    Api(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Api(e)
    }
}

impl From<sea_orm::DbErr> for Refusal {
    fn from(e: sea_orm::DbErr) -> Self {
        Refusal::Api(e.into())
    }
}

/// The status and the sentence a page shows for a service's refusal. A server error's cause is
/// logged, not shown.
pub fn explain(error: ApiError) -> (StatusCode, String) {
    match error {
        ApiError::Validation(errors) => {
            let text: Vec<String> = errors
                .entries()
                .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
                .collect();
            (StatusCode::BAD_REQUEST, text.join(" "))
        }
        ApiError::BadRequest(text) | ApiError::Unprocessable(text) => {
            (StatusCode::BAD_REQUEST, text)
        }
        ApiError::NotAuthenticated | ApiError::InvalidToken(_) => {
            (StatusCode::UNAUTHORIZED, "Sign in again.".to_owned())
        }
        ApiError::AuthenticationFailed(text) => (StatusCode::UNAUTHORIZED, text),
        ApiError::Forbidden(text) => (StatusCode::FORBIDDEN, text),
        ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found.".to_owned()),
        ApiError::Conflict { detail, .. } => (StatusCode::CONFLICT, detail),
        ApiError::PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The upload is too large.".to_owned(),
        ),
        ApiError::UnsupportedMediaType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "That kind of file is not accepted.".to_owned(),
        ),
        ApiError::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts. Try again in {retry_after} seconds."),
        ),
        ApiError::Unavailable(cause) => {
            tracing::warn!(%cause, "dashboard answering 503");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The shop is busy or a service is down: try again shortly.".to_owned(),
            )
        }
        ApiError::Overloaded => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The shop is busy: try again shortly.".to_owned(),
        ),
        ApiError::Internal(cause) => {
            tracing::error!(%cause, "dashboard request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "A server error occurred.".to_owned(),
            )
        }
    }
}

impl Refusal {
    /// The refusal as a page.
    pub fn page(self) -> Response {
        let (status, message) = match self {
            Refusal::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this dashboard: go back, reload \
                 the page and try again."
                    .to_owned(),
            ),
            Refusal::BadRequest(text) => (StatusCode::BAD_REQUEST, text.to_owned()),
            Refusal::NotFound => (StatusCode::NOT_FOUND, "Not found.".to_owned()),
            Refusal::Api(e) => explain(e),
        };
        render_with(
            status,
            &ErrorPage {
                status: status.as_u16(),
                message,
            },
        )
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.page()
    }
}

/// A refusal made before a handler ran — a path whose id does not fit its type, a method a
/// route does not take, a body over the limit — comes as plain text, for the edge to make into
/// the API's JSON: under `/admin/` it becomes a page like every other (its `Allow` and
/// `Retry-After` kept).
pub fn as_page(response: Response) -> Response {
    let status = response.status();
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let message = match status {
        StatusCode::NOT_FOUND => "Not found.",
        StatusCode::METHOD_NOT_ALLOWED => "This address does not take that kind of request.",
        StatusCode::PAYLOAD_TOO_LARGE => "The form is too large.",
        s if s.is_server_error() => "Something went wrong on our side: try again shortly.",
        _ => "This request is not one the dashboard understands: go back and try again.",
    };
    let mut page = render_with(
        status,
        &ErrorPage {
            status: status.as_u16(),
            message: message.to_owned(),
        },
    );
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

/// The dashboard's headers on every answer under `/admin/`: only this site's own scripts,
/// styles, fonts and forms (`img-src` also allows the media origin, where product images may
/// be), no framing, and pages never cached (an asset sets its own lifetime first).
pub fn headers(mut response: Response, image_origin: Option<&str>) -> Response {
    // `blob:`: the preview of an image chosen for upload, read by the page itself.
    let images = match image_origin {
        Some(origin) => format!("img-src 'self' blob: {origin}; "),
        None => "img-src 'self' blob:; ".to_owned(),
    };
    let policy = format!(
        "default-src 'self'; {images}base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    // Not `no-referrer`: with it a browser sends `Origin: null` on the forms, which are then
    // refused as coming from elsewhere. Nothing leaves the site: links out are not followed
    // with a referrer from another origin.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::local_next;

    #[test]
    fn only_dashboard_paths_are_returned_to() {
        assert_eq!(
            local_next(Some("/admin/orders/?status=PAID")),
            Some("/admin/orders/?status=PAID")
        );
        for bad in [
            "https://evil.example/admin/",
            "//evil.example/admin/",
            "/admin//evil.example",
            "/admin/\\evil",
            "/api/orders/",
            "/admin/login/?next=/admin/",
            "/admin/ x",
        ] {
            assert_eq!(local_next(Some(bad)), None, "{bad}");
        }
    }
}
