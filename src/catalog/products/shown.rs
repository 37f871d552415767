//! A product as the API shows it — to shoppers (active variants) and to staff (all) — from a
//! request, or from a write that records the product's event.

use super::{ProductRow, average_rating};
use crate::catalog::variants::listing::{in_order, options_of};
use crate::catalog::variants::views::VariantView;
use crate::catalog::views::{CategorySummary, ImageView, ProductView};
use crate::money::{Currency, Money};
use crate::storage::Storage;

/// What showing a product needs: where its images are, the base of their URLs, the currency.
#[derive(Clone, Copy)]
pub struct Showing<'a> {
    /// `None` where there is no media store (the demo loader, whose products have no images):
    /// images are then left out.
    pub storage: Option<&'a Storage>,
    /// The absolute base of links (`EMPORIUM_PUBLIC_URL`, else the request's).
    pub base_url: &'a str,
    pub currency: Currency,
}

impl Showing<'_> {
    /// Showing without a media store or a base URL, in `currency`.
    pub fn bare(currency: Currency) -> Showing<'static> {
        Showing {
            storage: None,
            base_url: "",
            currency,
        }
    }

    /// The view of a product: its active variants, or all of them for staff
    /// (`include_inactive`).
    pub fn view(&self, row: ProductRow, include_inactive: bool) -> ProductView {
        let currency = self.currency;
        let average_rating = average_rating(&row.product);
        let options = options_of(&row.product);
        let shown = in_order(&row.product, row.variants, include_inactive);
        ProductView {
            options,
            variants: shown
                .iter()
                .map(|v| VariantView::new(v, currency))
                .collect(),
            id: row.product.id,
            name: row.product.name,
            slug: row.product.slug,
            description: row.product.description,
            price: Money::from_minor(row.product.price).format(currency),
            currency: currency.code(),
            stock: row.product.stock,
            in_stock: row.product.stock > 0,
            is_active: row.product.is_active,
            tax_class: row.product.tax_class,
            category: CategorySummary {
                id: row.category.id,
                name: row.category.name,
                slug: row.category.slug,
            },
            images: match self.storage {
                Some(storage) => row
                    .images
                    .iter()
                    .map(|image| ImageView::new(image, storage, self.base_url))
                    .collect(),
                None => Vec::new(),
            },
            average_rating,
            review_count: row.product.review_count,
            created_at: row.product.created_at,
            updated_at: row.product.updated_at,
        }
    }
}
