//! The order variants are shown in, and a product's options as its column holds them — what
//! every view of a product uses.

use super::options::{self, ProductOption};
use super::views;
use crate::catalog::{product, variant};

/// The variants as shown: in option order (each value's position in its option, first option
/// first), then by id; only the active ones unless `include_inactive`.
pub fn in_order(
    product: &product::Model,
    mut variants: Vec<variant::Model>,
    include_inactive: bool,
) -> Vec<variant::Model> {
    let product_options = options::from_column(product.options.as_deref());
    variants.retain(|v| include_inactive || v.is_active);
    variants.sort_by_cached_key(|v| {
        (
            options::position(&product_options, &views::shown_options(v)),
            v.id,
        )
    });
    variants
}

/// The product's options as its column holds them.
pub fn options_of(product: &product::Model) -> Vec<ProductOption> {
    options::from_column(product.options.as_deref())
}
