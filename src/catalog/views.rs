//! Request and response types of the catalog, with their OpenAPI schemas.

use serde::Serialize;
use utoipa::ToSchema;

pub use super::products::requests::{ProductChanges, ProductInput, ProductRequest};
use super::variants::options::ProductOption;
use super::variants::views::VariantView;
use super::{category, product_image};
use crate::http::extract::{Fields, FromFields};
use crate::money::Money;

mod images;
pub use images::{ImageUpload, ImageView, Thumbnails};

/// `{"id", "name", "slug", "parent", "description"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: i64,
    pub name: String,
    pub slug: String,
    /// The parent category's id, or null at the top.
    pub parent: Option<i64>,
    pub description: String,
}

impl From<category::Model> for CategoryView {
    fn from(c: category::Model) -> CategoryView {
        CategoryView {
            id: c.id,
            name: c.name,
            slug: c.slug,
            parent: c.parent_id,
            description: c.description,
        }
    }
}

/// The category inside a product.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategorySummary {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

/// A product, as API.md describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub description: String,
    #[schema(example = "19.99")]
    pub price: String,
    #[schema(example = "USD")]
    pub currency: &'static str,
    pub stock: i64,
    pub in_stock: bool,
    pub is_active: bool,
    /// The tax class of its variants that name none.
    pub tax_class: String,
    pub category: CategorySummary,
    pub images: Vec<ImageView>,
    /// `"4.50"`, or null until reviewed.
    pub average_rating: Option<String>,
    pub review_count: i64,
    /// `[]` for a product without options.
    pub options: Vec<ProductOption>,
    /// Active variants (all for staff), in option order. `price` is the lowest active variant
    /// price, `stock` the sum over them, `in_stock` whether any is in stock.
    pub variants: Vec<VariantView>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A product as a cart line or an order shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductSummary {
    pub id: i64,
    pub name: String,
    pub slug: String,
    /// Today's price.
    #[schema(example = "19.99")]
    pub price: String,
    pub stock: i64,
    pub in_stock: bool,
    /// Absolute URL of the primary image (else the first), or null.
    pub image: Option<String>,
}

impl ProductSummary {
    /// The summary of `product`, whose images (primary first) are `images`.
    pub fn new(
        product: &super::product::Model,
        images: &[product_image::Model],
        currency: crate::money::Currency,
        storage: &crate::storage::Storage,
        base_url: &str,
    ) -> ProductSummary {
        ProductSummary {
            id: product.id,
            name: product.name.clone(),
            slug: product.slug.clone(),
            price: Money::from_minor(product.price).format(currency),
            stock: product.stock,
            in_stock: product.stock > 0,
            image: images
                .first()
                .map(|image| storage.url(&image.storage_key, base_url)),
        }
    }
}

/// Fields of a category as a request gives them (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct CategoryInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// `Some(None)`: make it a top-level category.
    pub parent: Option<Option<i64>>,
    pub description: Option<String>,
}

/// A slug is lower-case letters, digits and hyphens.
pub fn is_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Reads a category body: `name` required unless `partial` (`PATCH`).
fn read_category(fields: &mut Fields, partial: bool) -> CategoryInput {
    let name = fields.given_text("name", 120, partial);
    let slug = fields.optional_nonblank_text("slug", 140);
    if let Some(slug) = slug.as_deref().filter(|s| !is_slug(s)) {
        fields.error(
                "slug",
                format!("Enter a valid \"slug\" consisting of lower-case letters, numbers or hyphens (got {slug:?})."),
            );
    }
    let parent = fields.nullable::<i64>("parent");
    let description = fields.optional_text("description", 10_000);
    CategoryInput {
        name,
        slug,
        parent,
        description,
    }
}

/// `POST /api/categories/`.
#[derive(Debug, ToSchema)]
pub struct CategoryRequest {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: String,
    /// Generated from the name when omitted; unique.
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 140,
        pattern = "^[a-z0-9-]+$"
    )]
    pub slug: Option<String>,
    /// A category id, or null for a top-level category.
    pub parent: Option<i64>,
    #[schema(nullable = false, max_length = 10000)]
    pub description: Option<String>,
}

/// `PATCH /api/categories/{id}/`: any of the fields.
#[derive(Debug, ToSchema)]
pub struct CategoryChanges {
    #[schema(nullable = false, min_length = 1, max_length = 120, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 140,
        pattern = "^[a-z0-9-]+$"
    )]
    pub slug: Option<String>,
    /// A category id, or null for a top-level category; not itself or a descendant.
    pub parent: Option<Option<i64>>,
    #[schema(nullable = false, max_length = 10000)]
    pub description: Option<String>,
}

impl FromFields for CategoryRequest {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_category(fields, false);
        Some(CategoryRequest {
            name: input.name?,
            slug: input.slug,
            parent: input.parent.flatten(),
            description: input.description,
        })
    }
}

impl From<CategoryRequest> for CategoryInput {
    fn from(r: CategoryRequest) -> CategoryInput {
        CategoryInput {
            name: Some(r.name),
            slug: r.slug,
            parent: Some(r.parent),
            description: r.description,
        }
    }
}

impl FromFields for CategoryChanges {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let input = read_category(fields, true);
        Some(CategoryChanges {
            name: input.name,
            slug: input.slug,
            parent: input.parent,
            description: input.description,
        })
    }
}

impl From<CategoryChanges> for CategoryInput {
    fn from(c: CategoryChanges) -> CategoryInput {
        CategoryInput {
            name: c.name,
            slug: c.slug,
            parent: c.parent,
            description: c.description,
        }
    }
}

/// A category of the result set and how many of its products (with its sub-categories') are
/// in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryCount {
    pub id: i64,
    pub name: String,
    pub count: u64,
}

/// A price bucket: `min` ≤ price < `max` (no `max` for the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceRange {
    #[schema(example = "25.00")]
    pub min: String,
    #[schema(example = "50.00")]
    pub max: Option<String>,
    pub count: u64,
}

/// Counts for the products the list's filters select: by category (sub-categories included),
/// by price bucket (empty buckets left out), in stock, and in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsView {
    pub categories: Vec<CategoryCount>,
    pub price_ranges: Vec<PriceRange>,
    pub in_stock: u64,
    pub count: u64,
    /// Per option, the products with an active variant of each value (as `?option=Name:Value`
    /// would list them), most first.
    pub options: Vec<OptionFacet>,
}

/// An option of the result set's variants and its values' counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptionFacet {
    pub name: String,
    pub values: Vec<OptionValueCount>,
}

/// An option value and how many products of the result set have it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptionValueCount {
    pub value: String,
    pub count: u64,
}

/// What a typed prefix may be completing: up to ten products (a word of the name starts with
/// the prefix, and they have the words typed before it) and up to ten categories.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionsView {
    pub products: Vec<Suggestion>,
    pub categories: Vec<Suggestion>,
}

/// A product or category suggested for a prefix.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    pub id: i64,
    pub name: String,
    pub slug: String,
}
