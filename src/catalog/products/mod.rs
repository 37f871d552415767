//! Product rules: the list's filters and ordering, writes and images. Every write moves the
//! product's `version` on in the same transaction and tells the cache what it changed (see
//! `crate::cache`): the product's row always; the `LISTING_SCOPE` when what lists show or
//! their order may change.
//!
//! The pieces: `filter.rs` the list's filters and ordering, `writes.rs` creating, changing and
//! deleting a product, `media.rs` its images, `image_sizes.rs` the job that makes the sizes of
//! images stored before sizes existed; the reads are in `super::store`.

pub(super) mod filter;
pub mod image_sizes;
mod media;
pub mod requests;
pub mod shown;
mod writes;

use super::product;

pub use super::store::{ProductRow, get_product, list_products, product_facets};
pub use filter::{ORDERINGS, ProductFilter, ProductOrdering, parse_filter};
pub use media::{MAX_IMAGE_BYTES, add_image, delete_image};
pub use writes::{create_product, delete_product, indexed, record_updated, update_product};

/// The scope of every product list: which products they show and in what order (a product
/// created, deleted, renamed, re-priced, moved, switched on or off).
pub const LISTING_SCOPE: &str = "catalog:listing";

/// The cache's name for one product's row.
pub fn product_tag(id: i64) -> String {
    format!("product:{id}")
}

/// The mean of a product's ratings with two decimals, rounded half-up (`"4.50"`), or `None`
/// before its first review.
pub fn average_rating(product: &product::Model) -> Option<String> {
    if product.review_count <= 0 {
        return None;
    }
    let (total, count) = (
        i128::from(product.rating_total),
        i128::from(product.review_count),
    );
    let hundredths = (total * 200 + count) / (2 * count);
    Some(format!("{}.{:02}", hundredths / 100, hundredths % 100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_rating_has_two_decimals_rounded_half_up() {
        let now = crate::time::now();
        let rated = |count, total| product::Model {
            id: 1,
            name: String::new(),
            slug: String::new(),
            description: String::new(),
            price: 0,
            stock: 0,
            is_active: true,
            category_id: 1,
            created_at: now,
            updated_at: now,
            version: 0,
            review_count: count,
            rating_total: total,
            options: None,
            active_variants: 1,
            tax_class: "standard".to_owned(),
        };
        assert_eq!(average_rating(&rated(0, 0)), None);
        assert_eq!(average_rating(&rated(2, 9)).as_deref(), Some("4.50"));
        assert_eq!(average_rating(&rated(3, 13)).as_deref(), Some("4.33"));
        assert_eq!(average_rating(&rated(3, 14)).as_deref(), Some("4.67"));
        assert_eq!(
            average_rating(&rated(8, 37)).as_deref(),
            Some("4.63"),
            "4.625 rounds up"
        );
        assert_eq!(average_rating(&rated(1, 5)).as_deref(), Some("5.00"));
    }
}
