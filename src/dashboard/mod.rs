//! The staff dashboard at `/admin/`: the shop run from a browser, served by the same binary.
//!
//! Pages are rendered on the server from askama templates compiled into the binary
//! ([`views`]); the stylesheet and the one small script are compiled in too ([`assets`]).
//! A staff member signs in with the API's account and its login rules and gets a server-side
//! session ([`service`]); every page takes [`guard::Staff`] and every form [`guard::StaffForm`]
//! (the session's CSRF token, from this site), so nothing under `/admin/` runs for anyone else.
//! Pages ask the other apps through their service functions — the rules are the API's.

pub mod admin_session;
pub mod assets;
mod days;
mod fields;
pub mod guard;
pub mod page;
pub mod resource;
pub mod resubmit;
mod routes;
pub mod service;
mod store;
pub mod views;

use axum::Router;
use axum::routing::{any, get, post};

use crate::state::AppState;

/// The routes under `/admin/`, each answer with the dashboard's headers ([`page::headers`]).
pub fn router(state: &AppState) -> Router<AppState> {
    let image_origin = state.storage.public_origin();
    let router = Router::new()
        .route("/admin", get(|| async { page::see_other("/admin/") }))
        .route("/admin/", get(routes::overview::page))
        // A page that does not exist is the dashboard's page, with its headers.
        .route(
            "/admin/{*rest}",
            any(|| async { page::Refusal::NotFound.page() }),
        )
        .route(
            "/admin/login/",
            get(routes::session::form).post(routes::session::sign_in),
        )
        .route("/admin/logout/", post(routes::session::sign_out))
        .route("/admin/static/{file}", get(assets::serve));
    let router = routes::orders::add(router);
    let router = routes::products::add(router);
    let router = routes::variants::add(router);
    let router = routes::images::add(router);
    let router = routes::people::add(router);
    let router = routes::operations::add(router);
    let router = routes::settings::add(router).layer(axum::middleware::from_fn_with_state(
        state.clone(),
        resubmit::once,
    ));
    with_headers(router, image_origin)
}

/// The image upload, with its own body limit (merged after the API's limit, as the API's
/// upload is).
pub fn upload_router(state: &AppState) -> Router<AppState> {
    let router = routes::images::upload_router().layer(axum::middleware::from_fn_with_state(
        state.clone(),
        resubmit::once,
    ));
    with_headers(router, state.storage.public_origin())
}

fn with_headers(router: Router<AppState>, image_origin: Option<String>) -> Router<AppState> {
    router.layer(axum::middleware::map_response(move |response| {
        let origin = image_origin.clone();
        async move { page::headers(page::as_page(response), origin.as_deref()) }
    }))
}
