//! Reviews and ratings by verified buyers: one per user and product, the product's average and
//! count kept with every review write.

pub mod review;
pub mod routes;
pub mod service;
pub mod store;
pub mod views;

use axum::Router;
use axum::routing::{get, patch, post};

use crate::http::route;
use crate::idempotency::once;
use crate::state::AppState;

/// The routes of reviews.
pub fn router() -> Router<AppState> {
    let router = route(
        Router::new(),
        "/api/products/{id}/reviews/",
        get(routes::list_reviews).merge(once(post(routes::create_review), "reviews.create")),
    );
    route(
        router,
        "/api/reviews/{id}/",
        patch(routes::update_review).delete(routes::delete_review),
    )
}
