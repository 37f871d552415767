//! A form sent twice does its work once. Every form that creates something (and the stock
//! form) carries a `key`, new for each page shown; a second post of a form with the same key —
//! a double click in a browser without the script, a retry after the network lost the answer —
//! gets the first post's answer (the page it was sent to) and creates nothing (an image
//! upload carries its key in its address). The key is the
//! API's `Idempotency-Key` under another name, kept by the same records
//! ([`crate::idempotency::once`]): claimed before the form runs, so of two posts at once one
//! runs; released when the form is refused, so the corrected form runs; the same key with other
//! values is refused and changes nothing.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::guard::{CSRF_FIELD, FORM_MAX, FormFields, Staff, decode_form, field};
use super::page::{self, Refusal};
use crate::http::error::{ApiError, conflict};
use crate::idempotency::Keyed;
use crate::idempotency::once::{claim_for, settle};
use crate::state::AppState;

/// The scope of the dashboard's keys among the idempotency records.
const SCOPE: &str = "dashboard-form";

/// The form field that carries the key.
pub const KEY_FIELD: &str = "key";

/// The layer: a form post with a key runs once; anything else passes through.
pub async fn once(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|t| {
            if t.starts_with("application/x-www-form-urlencoded") {
                Kind::Form
            } else if t.starts_with("multipart/form-data") {
                Kind::Upload
            } else {
                Kind::Other
            }
        });
    let (mut parts, body) = request.into_parts();
    let (key, mut fields, body) = match (&parts.method, kind) {
        (&Method::POST, Some(Kind::Form)) => {
            let Ok(bytes) = to_bytes(body, FORM_MAX).await else {
                return Refusal::BadRequest("The form is too large.").page();
            };
            let fields = decode_form(&bytes).unwrap_or_default();
            (key_in(&fields), fields, Body::from(bytes))
        }
        // An upload's key is in its address: the file is not read twice (a key is new for
        // each page shown, so it stands for the file).
        (&Method::POST, Some(Kind::Upload)) => {
            let query = decode_form(parts.uri.query().unwrap_or("").as_bytes()).unwrap_or_default();
            (key_in(&query), Vec::new(), body)
        }
        _ => return next.run(Request::from_parts(parts, body)).await,
    };
    // Without a key or a live session, the form runs (or is refused) as it would.
    let staff = match key {
        Some(_) => Staff::from_request_parts(&mut parts, &state).await.ok(),
        None => None,
    };
    let (Some(key), Some(Staff(staff))) = (key, staff) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    // What was asked: where, and every field but the token (the same in every form of the
    // session).
    fields.retain(|(name, _)| name != CSRF_FIELD);
    let asked = serde_json::json!({"path": parts.uri.path(), "fields": fields});
    let keyed = Keyed::new(staff.user.id, SCOPE, &key, &asked);
    match claim_for(&state.db, &keyed).await {
        Ok(None) => {}
        Ok(Some(first)) => return page::see_other(&first.body),
        Err(ApiError::Unprocessable(_)) => {
            return Refusal::Api(conflict(
                "This form was sent before with other values; nothing was changed. Reload the \
                 page to start again.",
            ))
            .page();
        }
        Err(e) => return Refusal::Api(e).page(),
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    let sent_to = (response.status() == StatusCode::SEE_OTHER)
        .then(|| response.headers().get(header::LOCATION))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(|to| (StatusCode::SEE_OTHER.as_u16(), to.to_owned()));
    if let Err(e) = settle(&state.db, &keyed, sent_to).await {
        tracing::warn!(error = %e, "a dashboard form's key could not be settled");
    }
    response.into_response()
}

enum Kind {
    Form,
    Upload,
    Other,
}

fn key_in(fields: &FormFields) -> Option<String> {
    field(fields, KEY_FIELD)
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 100)
        .map(str::to_owned)
}
