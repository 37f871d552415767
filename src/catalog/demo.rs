//! `emporium demo-data`: a small catalog to try the API with. Running it again adds nothing.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use super::views::{CategoryInput, ProductInput};
use super::{categories, products};
use super::{category, product};
use crate::cache::ResponseCache;
use crate::money::Money;

/// (product, price in minor units, stock).
type DemoProduct = (&'static str, i64, i64);

/// (category, parent, products).
const DEMO: &[(&str, Option<&str>, &[DemoProduct])] = &[
    ("Clothing", None, &[]),
    (
        "Shoes",
        Some("Clothing"),
        &[
            ("Trail Running Shoes", 8999, 25),
            ("Canvas Sneakers", 4950, 40),
            ("Leather Boots", 12900, 0),
        ],
    ),
    (
        "T-Shirts",
        Some("Clothing"),
        &[("Organic Cotton Tee", 1999, 120), ("Graphic Tee", 2499, 3)],
    ),
    (
        "Kitchen",
        None,
        &[
            ("Chef's Knife", 5900, 15),
            ("Cast Iron Skillet", 3450, 30),
            ("Pour-Over Coffee Set", 2999, 8),
        ],
    ),
    (
        "Books",
        None,
        &[
            ("The Pragmatic Shopkeeper", 2800, 50),
            ("Rust for Retail", 3900, 12),
        ],
    ),
];

/// Loads the demo catalog unless it is there already; returns how many products were added.
pub async fn load(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    language: crate::text::Language,
) -> Result<u64, crate::http::error::ApiError> {
    let mut added = 0;
    for (name, parent, products) in DEMO {
        let existing = category::Entity::find()
            .filter(category::Column::Name.eq(*name))
            .one(db)
            .await?;
        let category = match existing {
            Some(category) => category,
            None => {
                let parent_id = match parent {
                    Some(parent) => category::Entity::find()
                        .filter(category::Column::Name.eq(*parent))
                        .one(db)
                        .await?
                        .map(|c| c.id),
                    None => None,
                };
                categories::create_category(
                    db,
                    cache,
                    CategoryInput {
                        name: Some((*name).to_owned()),
                        slug: None,
                        parent: Some(parent_id),
                        description: Some(format!("Demo category: {name}.")),
                    },
                )
                .await?
            }
        };
        for (product_name, price, stock) in *products {
            let exists = product::Entity::find()
                .filter(product::Column::Name.eq(*product_name))
                .count(db)
                .await?
                > 0;
            if exists {
                continue;
            }
            products::create_product(
                db,
                cache,
                language,
                ProductInput {
                    name: Some((*product_name).to_owned()),
                    description: Some(format!("{product_name}, from the demo catalog.")),
                    price: Some(Money::from_minor(*price)),
                    stock: Some(*stock),
                    is_active: Some(true),
                    category: Some(category.id),
                },
                "demo-data".to_owned(),
            )
            .await?;
            added += 1;
        }
    }
    Ok(added)
}
