//! `emporium demo-data`: a small catalog to try the API with. Running it again adds nothing.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use super::products::shown::Showing;
use super::variants::options::ProductOption;
use super::variants::views::VariantInput;
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
    showing: Showing<'_>,
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
                    ..ProductInput::default()
                },
                "demo-data".to_owned(),
                showing,
            )
            .await?;
            added += 1;
        }
        if *name == "T-Shirts" {
            added += load_variants_tee(db, cache, language, category.id, showing).await?;
        }
    }
    Ok(added)
}

/// A tee sold in three sizes and two colours: six variants, each with its SKU and stock, the
/// large ones dearer.
async fn load_variants_tee(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    language: crate::text::Language,
    category_id: i64,
    showing: Showing<'_>,
) -> Result<u64, crate::http::error::ApiError> {
    const NAME: &str = "Everyday Tee";
    let exists = product::Entity::find()
        .filter(product::Column::Name.eq(NAME))
        .count(db)
        .await?
        > 0;
    if exists {
        return Ok(0);
    }
    let options = vec![
        ProductOption {
            name: "Size".to_owned(),
            values: vec!["S".to_owned(), "M".to_owned(), "L".to_owned()],
        },
        ProductOption {
            name: "Colour".to_owned(),
            values: vec!["Red".to_owned(), "Blue".to_owned()],
        },
    ];
    let mut variants = Vec::new();
    for (size, price) in [("S", 1800), ("M", 1800), ("L", 2000)] {
        for (colour, stock) in [("Red", 10), ("Blue", 4)] {
            let mut chosen = serde_json::Map::new();
            chosen.insert("Size".to_owned(), size.into());
            chosen.insert("Colour".to_owned(), colour.into());
            variants.push(VariantInput {
                sku: Some(format!("TEE-{}-{size}", &colour[..3].to_uppercase())),
                options: Some(chosen),
                price: Some(Money::from_minor(price)),
                stock: Some(stock),
                weight_grams: Some(Some(180)),
                ..VariantInput::default()
            });
        }
    }
    products::create_product(
        db,
        cache,
        language,
        ProductInput {
            name: Some(NAME.to_owned()),
            description: Some("A soft cotton tee in three sizes and two colours.".to_owned()),
            is_active: Some(true),
            category: Some(category_id),
            options: Some(options),
            variants: Some(variants),
            ..ProductInput::default()
        },
        "demo-data".to_owned(),
        showing,
    )
    .await?;
    Ok(1)
}
