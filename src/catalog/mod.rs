//! Catalog: categories (a tree), products with filters, search and ordering, product images,
//! and the cache that serves reads without ever serving stale data.

pub mod categories;
pub mod category;
pub mod demo;
pub mod for_sale;
pub mod images;
pub mod inventory;
pub mod lookups;
pub mod product;
pub mod product_image;
pub mod products;
pub mod routes;
pub mod search;
pub mod stock_movement;
pub mod store;
pub mod tree;
pub mod variant;
pub mod variants;
pub mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::http::route;
use crate::idempotency::once;
use crate::state::AppState;

/// The routes of `/api/categories/` and `/api/products/`, except the image upload.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    router = route(
        router,
        "/api/categories/",
        get(routes::categories::list_categories).merge(once(
            post(routes::categories::create_category),
            "catalog.categories.create",
        )),
    );
    router = route(
        router,
        "/api/categories/{id}/",
        get(routes::categories::get_category)
            .patch(routes::categories::update_category)
            .delete(routes::categories::delete_category),
    );
    router = route(
        router,
        "/api/products/",
        get(routes::products::list_products).merge(once(
            post(routes::products::create_product),
            "catalog.products.create",
        )),
    );
    router = route(
        router,
        "/api/products/facets/",
        get(routes::discovery::product_facets),
    );
    router = route(
        router,
        "/api/products/suggest/",
        get(routes::discovery::suggest),
    );
    router = route(
        router,
        "/api/products/{id}/",
        get(routes::products::get_product)
            .patch(routes::products::update_product)
            .delete(routes::products::delete_product),
    );
    router = route(
        router,
        "/api/products/{id}/stock/",
        post(routes::stock::adjust_stock),
    );
    router = route(
        router,
        "/api/products/{id}/stock/movements/",
        get(routes::stock::list_movements),
    );
    router = route(
        router,
        "/api/products/{id}/variants/",
        get(routes::variants::list_variants).merge(once(
            post(routes::variants::create_variant),
            "catalog.variants.create",
        )),
    );
    router = route(
        router,
        "/api/products/{id}/variants/{variant_id}/",
        patch(routes::variants::update_variant).delete(routes::variants::delete_variant),
    );
    router = route(
        router,
        "/api/variants/{variant_id}/stock/",
        post(routes::variants::adjust_variant_stock),
    );
    router = route(
        router,
        "/api/variants/{variant_id}/stock/movements/",
        get(routes::variants::list_variant_movements),
    );
    route(
        router,
        "/api/products/{id}/images/{image_id}/",
        delete(routes::images::delete_image),
    )
}

/// The image upload, with its own body limit (5 MiB of image plus the multipart envelope)
/// instead of the API's.
pub fn upload_router() -> Router<AppState> {
    let limit = products::MAX_IMAGE_BYTES + 64 * 1024;
    route(
        Router::new(),
        "/api/products/{id}/images/",
        once(post(routes::images::upload_image), "catalog.images.upload"),
    )
    .layer(DefaultBodyLimit::max(limit))
    .layer(RequestBodyLimitLayer::new(limit))
}
