//! Sign-in and sign-out.

use crate::http::error::ApiError;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::dashboard::guard::{self, SESSION_COOKIE, SIGN_IN_COOKIE, SignInForm, StaffForm};
use crate::dashboard::page::{self, Refusal};
use crate::dashboard::service::{self, SignInError};
use crate::dashboard::views::SignInPage;
use crate::http::context::RequestContext;
use crate::state::AppState;
use crate::throttle::Limiter;

/// The longest email the sign-in form takes back into the page.
const EMAIL_MAX: usize = 254;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn with_cookie(mut response: Response, cookie: String) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /admin/login/`: the form (a signed-in staff member goes straight on). The form's CSRF
/// token is the sign-in cookie's, set here when the browser has none.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = page::local_next(query.next.as_deref()).map(str::to_owned);
    if let Some(token) = guard::cookie(&headers, SESSION_COOKIE).filter(|t| !t.is_empty()) {
        match service::session(&state.db, token).await {
            Ok(Some(_)) => return page::see_other(next.as_deref().unwrap_or("/admin/")),
            Ok(None) => {}
            Err(e) => return Refusal::Api(e).into_response(),
        }
    }
    let (csrf, fresh) = match guard::cookie(&headers, SIGN_IN_COOKIE).filter(|t| t.len() >= 32) {
        Some(token) => (token.to_owned(), false),
        None => match service::random_token() {
            Ok(token) => (token, true),
            Err(e) => return Refusal::Api(e).into_response(),
        },
    };
    let page = SignInPage {
        shop: state.settings.shop_name.clone(),
        csrf: csrf.clone(),
        email: String::new(),
        next,
        error: None,
    };
    let response = page::render(&page);
    if fresh {
        with_cookie(
            response,
            guard::set_cookie(&state, SIGN_IN_COOKIE, Some(&csrf)),
        )
    } else {
        response
    }
}

/// `POST /admin/login/`: staff only, throttled as the API's login; a new session.
pub async fn sign_in(
    State(state): State<AppState>,
    context: RequestContext,
    form: SignInForm,
) -> Response {
    let email: String = form
        .get("email")
        .unwrap_or("")
        .chars()
        .take(EMAIL_MAX)
        .collect();
    let password = form.get("password").unwrap_or("").to_owned();
    let next = page::local_next(form.get("next")).map(str::to_owned);
    let failures = Limiter {
        store: &state.throttle,
        rate: state.settings.login_failures(),
    };
    let signed = service::sign_in(
        &state.db,
        &state.hash_gate,
        failures,
        (&email, password),
        context.client_ip,
    )
    .await;
    let mut retry_after = None;
    let (status, message) = match signed {
        Ok((token, _)) => {
            let to = next.as_deref().unwrap_or("/admin/");
            let cookie = guard::set_cookie(&state, SESSION_COOKIE, Some(&token));
            return with_cookie(page::see_other(to), cookie);
        }
        Err(SignInError::NotStaff) => (StatusCode::FORBIDDEN, service::NOT_STAFF.to_owned()),
        Err(SignInError::Api(e)) => {
            retry_after = match &e {
                ApiError::Throttled { retry_after } => Some(*retry_after),
                _ => None,
            };
            page::explain(e)
        }
    };
    let page = SignInPage {
        shop: state.settings.shop_name.clone(),
        csrf: form.get(guard::CSRF_FIELD).unwrap_or("").to_owned(),
        email,
        next,
        error: Some(message),
    };
    let mut response = page::render_with(status, &page);
    // As the API's login says it: when to try again.
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(seconds),
        );
    }
    response
}

/// `POST /admin/logout/`: the session ends (its row is deleted) and the cookie is cleared.
pub async fn sign_out(State(state): State<AppState>, form: StaffForm) -> Response {
    if let Err(e) = service::sign_out(&state.db, &form.staff).await {
        return Refusal::Api(e).into_response();
    }
    with_cookie(
        page::see_other("/admin/login/"),
        guard::set_cookie(&state, SESSION_COOKIE, None),
    )
}
