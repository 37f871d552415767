//! The inventory's rules at the service level, on a migrated SQLite database: no HTTP.

use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set, TransactionTrait};

use sea_orm::{DatabaseConnection, QueryFilter};

use super::*;
use crate::cache::ResponseCache;
use crate::catalog::{category, products};
use crate::money::Money;
use crate::{db, time};

/// A migrated SQLite database in a temporary directory, with one category.
async fn database() -> (tempfile::TempDir, DatabaseConnection, i64) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("unit.db").display());
    let db = db::connect(&url, 2).await.expect("connect");
    db::migrate(&db).await.expect("migrate");
    let now = time::now();
    let category = category::ActiveModel {
        name: Set("Shoes".to_owned()),
        slug: Set("shoes".to_owned()),
        parent_id: Set(None),
        description: Set(String::new()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&db)
    .await
    .expect("category");
    (dir, db, category.id)
}

/// A single-variant product: `(product id, variant id)`.
async fn product(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    category: i64,
    name: &str,
    stock: i64,
) -> (i64, i64) {
    let input = crate::catalog::views::ProductInput {
        name: Some(name.to_owned()),
        description: None,
        price: Some(Money::from_minor(1999)),
        stock: Some(stock),
        is_active: Some(true),
        category: Some(category),
        ..crate::catalog::views::ProductInput::default()
    };
    let created = products::create_product(
        db,
        cache,
        crate::text::Language::ENGLISH,
        input,
        "test".to_owned(),
        crate::catalog::products::shown::Showing::bare(crate::money::Currency::USD),
    )
    .await
    .expect("product");
    (input_id(&created), created.variants[0].id)
}

fn input_id(row: &products::ProductRow) -> i64 {
    row.product.id
}

fn line((product_id, variant_id): (i64, i64), delta: i64) -> StockLine {
    StockLine {
        product_id,
        variant_id,
        delta,
    }
}

fn cause(reason: &str) -> Cause {
    Cause {
        reason: reason.to_owned(),
        reference: "order:1".to_owned(),
        idempotency_key: None,
    }
}

/// The variant's stock, checked against its product's (the sum over its active variants).
async fn stock(db: &DatabaseConnection, (product_id, variant_id): (i64, i64)) -> i64 {
    let variant = variant::Entity::find_by_id(variant_id)
        .one(db)
        .await
        .expect("read")
        .expect("exists");
    let product = product::Entity::find_by_id(product_id)
        .one(db)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(product.stock, variant.stock, "a single variant's product");
    variant.stock
}

#[tokio::test]
async fn apply_moves_every_line_and_records_a_movement_each() {
    let (_dir, db, category) = database().await;
    let cache = ResponseCache::local(1 << 20);
    let a = product(&db, &cache, category, "A", 5).await;
    let b = product(&db, &cache, category, "B", 0).await;
    let tx = db.begin().await.expect("begin");
    // Lines of one product are summed; ids are taken in order whatever the input order.
    let lines = [line(b, 4), line(a, -2), line(a, -1)];
    let (applied, change) = apply(&tx, &lines, &cause("order")).await.expect("applies");
    tx.commit().await.expect("commit");
    assert_eq!(
        applied
            .iter()
            .map(|x| (x.product_id, x.stock_after))
            .collect::<Vec<_>>(),
        [(a.0, 2), (b.0, 4)]
    );
    assert!(!change.is_empty());
    assert_eq!((stock(&db, a).await, stock(&db, b).await), (2, 4));
    let movements = stock_movement::Entity::find()
        .filter(stock_movement::Column::Reason.eq("order"))
        .count(&db)
        .await
        .expect("count");
    assert_eq!(movements, 2);
}

#[tokio::test]
async fn apply_reports_every_short_product_and_the_rollback_keeps_everything() {
    let (_dir, db, category) = database().await;
    let cache = ResponseCache::local(1 << 20);
    let a = product(&db, &cache, category, "A", 3).await;
    let b = product(&db, &cache, category, "B", 1).await;
    let c = product(&db, &cache, category, "C", 10).await;
    let tx = db.begin().await.expect("begin");
    let lines = [line(a, -5), line(b, -2), line(c, -1)];
    let Err(StockError::Short(short)) = apply(&tx, &lines, &cause("order")).await else {
        panic!("expected a shortage");
    };
    tx.rollback().await.expect("rollback");
    assert_eq!(
        short,
        [
            Shortage {
                product_id: a.0,
                variant_id: a.1,
                requested: 5,
                available: 3
            },
            Shortage {
                product_id: b.0,
                variant_id: b.1,
                requested: 2,
                available: 1
            },
        ]
    );
    let stocks = (
        stock(&db, a).await,
        stock(&db, b).await,
        stock(&db, c).await,
    );
    assert_eq!(stocks, (3, 1, 10), "nothing moved");
    let tx = db.begin().await.expect("begin");
    let missing = apply(&tx, &[line((a.0, 999), 1)], &cause("order")).await;
    assert!(matches!(
        missing,
        Err(StockError::NoVariant {
            variant_id: 999,
            ..
        })
    ));
    // A variant named with another product is as missing as one that does not exist.
    let mismatched = apply(&tx, &[line((a.0, b.1), 1)], &cause("order")).await;
    assert!(matches!(mismatched, Err(StockError::NoVariant { .. })));
}

#[tokio::test]
async fn set_if_changes_nothing_unless_the_stock_is_as_expected() {
    let (_dir, db, category) = database().await;
    let cache = ResponseCache::local(1 << 20);
    let a = product(&db, &cache, category, "A", 7).await;
    let stale = set_if(&db, a.0, a.1, 20, 6, &cause("count"))
        .await
        .expect("runs");
    assert!(stale.is_none());
    assert_eq!(stock(&db, a).await, 7);
    let (done, _) = set_if(&db, a.0, a.1, 20, 7, &cause("count"))
        .await
        .expect("runs")
        .expect("applies");
    assert_eq!(done.stock_after, 20);
    let sum: i64 = stock_movement::Entity::find()
        .filter(stock_movement::Column::VariantId.eq(a.1))
        .all(&db)
        .await
        .expect("movements")
        .iter()
        .map(|m| m.delta)
        .sum();
    assert_eq!(sum, 20, "the movements add up to the stock");
}

#[tokio::test]
async fn a_product_keeps_its_price_in_minor_units() {
    let (_dir, db, category) = database().await;
    let cache = ResponseCache::local(1 << 20);
    let a = product(&db, &cache, category, "A", 1).await;
    let row = product::Entity::find_by_id(a.0)
        .one(&db)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(row.price, 1999);
}
