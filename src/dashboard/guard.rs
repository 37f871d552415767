//! Who may reach a dashboard page, as types: a handler that takes [`Staff`] runs only for a
//! live staff session, and one that takes [`StaffForm`] only for a live staff session whose
//! form carries that session's CSRF token and comes from this site. The sign-in form, before
//! any session, is guarded by [`SignInForm`]: a token in a cookie of its own that the form must
//! repeat.

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};

use super::page::{self, Refusal};
use super::service::{self, Session};
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "emporium_admin";
/// The sign-in form's CSRF cookie (before a session exists).
pub const SIGN_IN_COOKIE: &str = "emporium_admin_csrf";
/// The form field every state-changing request carries.
pub const CSRF_FIELD: &str = "csrf";
/// The largest form body the dashboard reads (an image upload has its own limit): room for the
/// longest text the API takes (a description of 10,000 characters of four bytes each is 120 KB
/// percent-encoded) and the form's other fields.
pub(super) const FORM_MAX: usize = 256 * 1024;

/// The value of cookie `name`, if the request sent it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for `name`: `HttpOnly`, `SameSite=Strict`, the dashboard's path, `Secure` when
/// the public URL is https; `None` clears it.
pub fn set_cookie(state: &AppState, name: &str, value: Option<&str>) -> String {
    let secure = state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    let mut cookie = format!(
        "{name}={}; Path=/admin/; HttpOnly; SameSite=Strict",
        value.unwrap_or("")
    );
    if value.is_none() {
        cookie.push_str("; Max-Age=0");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Equal without telling how much of it was: for tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// A state-changing request must come from the dashboard's own pages: a browser that says it
/// comes from another site (`Sec-Fetch-Site`) or another origin (`Origin`) is refused whatever
/// it carries, and so is one that says neither where it comes from.
fn same_site(parts: &Parts) -> bool {
    let site = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return false;
    }
    let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        // Every browser this dashboard supports sends one or the other with a form: a request
        // with neither is not a form of this site's.
        return site == Some("same-origin");
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    host.is_some() && origin_host == host
}

/// A live staff session.
#[derive(Clone, Debug)]
pub struct Staff(pub Session);

impl<S> FromRequestParts<S> for Staff
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty());
        let session = match token {
            Some(token) => service::session(&state.db, token)
                .await
                .map_err(|e| Refusal::Api(e).into_response())?,
            None => None,
        };
        match session {
            Some(session) => Ok(Staff(session)),
            None => {
                let next = (parts.method == Method::GET)
                    .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_owned()))
                    .flatten();
                Err(page::to_sign_in(next.as_deref()))
            }
        }
    }
}

/// The live staff session of a state-changing request that comes from this site: what every
/// staff form and upload checks before its body is read.
async fn staff_from_this_site<S>(parts: &mut Parts, state: &S) -> Result<Session, Response>
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    let Staff(staff) = Staff::from_request_parts(parts, state).await?;
    if !same_site(parts) {
        return Err(Refusal::Csrf.into_response());
    }
    Ok(staff)
}

/// The fields of a form body, in order (`application/x-www-form-urlencoded`).
pub type FormFields = Vec<(String, String)>;

async fn form_fields(body: Body) -> Result<FormFields, Refusal> {
    let bytes = axum::body::to_bytes(body, FORM_MAX)
        .await
        .map_err(|_| Refusal::BadRequest("The form is too large."))?;
    decode_form(&bytes).ok_or(Refusal::BadRequest("The form is malformed."))
}

/// `application/x-www-form-urlencoded` decoded strictly: a name or value whose bytes are not
/// UTF-8 refuses the form (rather than being stored with replacement characters).
pub(super) fn decode_form(body: &[u8]) -> Option<FormFields> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            Some((percent_decoded(name)?, percent_decoded(value)?))
        })
        .collect()
}

fn percent_decoded(text: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut at = 0;
    while let Some(byte) = text.get(at) {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = text.get(at + 1..at + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                at += 2;
            }
            other => bytes.push(*other),
        }
        at += 1;
    }
    String::from_utf8(bytes).ok()
}

pub(super) fn field<'a>(fields: &'a FormFields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// A form posted by a live staff session, carrying its CSRF token, from this site.
#[derive(Debug)]
pub struct StaffForm {
    pub staff: Session,
    pub fields: FormFields,
}

impl StaffForm {
    /// The value of field `name`, if the form has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        field(&self.fields, name)
    }

    /// The fields `names` that were filled in, as the JSON object an API body would be: an
    /// input left empty is a field not given.
    pub fn object(&self, names: &[&str]) -> serde_json::Map<String, serde_json::Value> {
        names
            .iter()
            .filter_map(|name| {
                let value = self.get(name).filter(|v| !v.trim().is_empty())?;
                Some(((*name).to_owned(), serde_json::Value::from(value)))
            })
            .collect()
    }

    /// The fields `names` of a change, as the JSON object of a `PATCH`: an input in the form
    /// left empty goes as `""`, for the API to refuse beside it (a required field emptied is
    /// not "saved" with its old value kept); an input not in the form is a field not given.
    pub fn changed(&self, names: &[&str]) -> serde_json::Map<String, serde_json::Value> {
        names
            .iter()
            .filter_map(|name| {
                let value = self.get(name)?.trim();
                Some(((*name).to_owned(), serde_json::Value::from(value)))
            })
            .collect()
    }
}

impl<S> FromRequest<S> for StaffForm
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let staff = staff_from_this_site(&mut parts, state).await?;
        let fields = form_fields(body)
            .await
            .map_err(IntoResponse::into_response)?;
        let given = field(&fields, CSRF_FIELD).unwrap_or("");
        if !same_token(given, &staff.csrf) {
            return Err(Refusal::Csrf.into_response());
        }
        Ok(StaffForm { staff, fields })
    }
}

/// The sign-in form, carrying the token of the sign-in cookie, from this site.
#[derive(Debug)]
pub struct SignInForm {
    pub fields: FormFields,
}

impl SignInForm {
    /// The value of field `name`, if the form has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        field(&self.fields, name)
    }
}

impl<S> FromRequest<S> for SignInForm
where
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        if !same_site(&parts) {
            return Err(Refusal::Csrf.into_response());
        }
        let expected = cookie(&parts.headers, SIGN_IN_COOKIE)
            .unwrap_or("")
            .to_owned();
        let fields = form_fields(body)
            .await
            .map_err(IntoResponse::into_response)?;
        let given = field(&fields, CSRF_FIELD).unwrap_or("");
        if expected.len() < 32 || !same_token(given, &expected) {
            return Err(Refusal::Csrf.into_response());
        }
        Ok(SignInForm { fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a_emporium_admin=x; emporium_admin=tok; other=1"
                .parse()
                .expect("header"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", "a"));
    }
}

/// An image posted by a live staff session as `multipart/form-data` from this site, whose
/// first field is the session's CSRF token (checked before the file is read).
#[derive(Debug)]
pub struct StaffUpload {
    pub staff: Session,
    pub image: bytes::Bytes,
    pub is_primary: bool,
}

impl<S> FromRequest<S> for StaffUpload
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::Multipart;
        let (mut parts, body) = request.into_parts();
        let staff = staff_from_this_site(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let malformed = || Refusal::BadRequest("The upload is malformed.").into_response();
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|_| malformed())?;
        let first = multipart.next_field().await.map_err(|_| malformed())?;
        let token = match first {
            Some(field) if field.name() == Some(CSRF_FIELD) => {
                field.text().await.map_err(|_| malformed())?
            }
            _ => return Err(Refusal::Csrf.into_response()),
        };
        if !same_token(token.trim(), &staff.csrf) {
            return Err(Refusal::Csrf.into_response());
        }
        let (mut image, mut is_primary) = (None, false);
        while let Some(field) = multipart.next_field().await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Refusal::Api(crate::http::error::ApiError::PayloadTooLarge).into_response()
            } else {
                malformed()
            }
        })? {
            match field.name() {
                Some("image") => image = Some(field.bytes().await.map_err(|_| malformed())?),
                Some("is_primary") => {
                    let text = field.text().await.map_err(|_| malformed())?;
                    is_primary = matches!(text.trim(), "true" | "on" | "1");
                }
                _ => {}
            }
        }
        Ok(StaffUpload {
            staff,
            image: image.unwrap_or_default(),
            is_primary,
        })
    }
}
