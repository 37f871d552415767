//! Accounts: users and roles, JWT login with rotating refresh tokens, profile, addresses,
//! password change and reset, login throttling.

pub mod address;
pub mod addresses;
pub mod password;
pub mod postal;
pub mod refresh_token;
pub mod reset;
pub mod reset_token;
pub mod routes;
pub mod service;
pub mod sessions;
pub mod staff;
pub mod store;
pub mod views;

use axum::Router;
use axum::routing::{get, post};

use crate::http::route;
use crate::idempotency::once;
use crate::state::AppState;

/// The routes of `/api/auth/`.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    router = route(router, "/api/auth/register/", post(routes::register));
    router = route(router, "/api/auth/login/", post(routes::login));
    router = route(router, "/api/auth/refresh/", post(routes::refresh));
    router = route(router, "/api/auth/logout/", post(routes::logout));
    router = route(
        router,
        "/api/auth/me/",
        get(routes::me).patch(routes::update_me),
    );
    router = route(
        router,
        "/api/auth/password/change/",
        post(routes::change_password),
    );
    router = route(
        router,
        "/api/auth/password/reset/",
        post(routes::reset_password),
    );
    router = route(
        router,
        "/api/auth/password/reset/confirm/",
        post(routes::confirm_password_reset),
    );
    router = route(
        router,
        "/api/auth/addresses/",
        get(routes::list_addresses).merge(once(
            post(routes::create_address),
            "accounts.addresses.create",
        )),
    );
    router = route(
        router,
        "/api/auth/addresses/{id}/",
        get(routes::get_address)
            .patch(routes::update_address)
            .delete(routes::delete_address),
    );
    router
}
