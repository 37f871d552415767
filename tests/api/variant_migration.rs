//! The variants migration on a database made by the previous version: every product gets its
//! one variant, and its stock movements, cart lines and order items follow it.

use emporium::auth::user;
use emporium::cart::{cart_item, shopping_cart};
use emporium::catalog::{category, product, stock_movement, variant};
use emporium::db::Migrator;
use emporium::orders::{order, order_item};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::helpers::{Spawn, TestDatabase, spawn};

/// The migrations the previous version had.
const PREVIOUS_VERSION: u32 = 14;

/// Inserts `row` with only the columns the previous version had (nothing is read back: the
/// entity already knows the new ones).
macro_rules! old_insert {
    ($entity:ty, $db:expr, $row:expr) => {
        <$entity>::insert($row)
            .exec_without_returning($db)
            .await
            .expect(stringify!($entity))
    };
}

#[tokio::test]
async fn a_shop_of_the_previous_version_migrates_each_product_to_its_variant() {
    let database = TestDatabase::create().await;
    let db = emporium::db::connect(&database.url, 2)
        .await
        .expect("connect");
    Migrator::up(&db, Some(PREVIOUS_VERSION))
        .await
        .expect("the previous version's schema");
    let now = emporium::time::now();
    old_insert!(
        category::Entity,
        &db,
        category::ActiveModel {
            id: Set(1),
            name: Set("Shoes".to_owned()),
            slug: Set("shoes".to_owned()),
            parent_id: Set(None),
            description: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
        }
    );
    for (id, price, stock) in [(1_i64, 5000_i64, 7_i64), (2, 1250, 0), (3, 999, 40)] {
        old_insert!(
            product::Entity,
            &db,
            product::ActiveModel {
                id: Set(id),
                name: Set(format!("Product {id}")),
                slug: Set(format!("product-{id}")),
                description: Set(String::new()),
                price: Set(price),
                stock: Set(stock),
                is_active: Set(true),
                category_id: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                version: Set(0),
                review_count: Set(0),
                rating_total: Set(0),
                ..Default::default()
            }
        );
        old_insert!(
            stock_movement::Entity,
            &db,
            stock_movement::ActiveModel {
                product_id: Set(id),
                delta: Set(stock),
                stock_after: Set(stock),
                reason: Set("product created".to_owned()),
                reference: Set("user:1".to_owned()),
                idempotency_key: Set(None),
                created_at: Set(now),
                ..Default::default()
            }
        );
    }
    old_insert!(
        user::Entity,
        &db,
        user::ActiveModel {
            id: Set(1),
            email: Set("old@example.com".to_owned()),
            password: Set("!".to_owned()),
            first_name: Set(String::new()),
            last_name: Set(String::new()),
            is_staff: Set(false),
            is_active: Set(true),
            date_joined: Set(now),
            last_login: Set(None),
        }
    );
    old_insert!(
        shopping_cart::Entity,
        &db,
        shopping_cart::ActiveModel {
            id: Set(1),
            user_id: Set(1),
            coupon_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    );
    old_insert!(
        cart_item::Entity,
        &db,
        cart_item::ActiveModel {
            cart_id: Set(1),
            product_id: Set(3),
            quantity: Set(2),
            added_at: Set(now),
            ..Default::default()
        }
    );
    old_insert!(
        order::Entity,
        &db,
        order::ActiveModel {
            id: Set("00000000-0000-4000-8000-000000000001".to_owned()),
            user_id: Set(1),
            status: Set(order::OrderStatus::Paid),
            payment_status: Set(order::PaymentStatus::Paid),
            subtotal: Set(5000),
            discount: Set(0),
            total_amount: Set(5000),
            currency: Set("USD".to_owned()),
            coupon: Set(None),
            coupon_id: Set(None),
            shipping_address: Set(json!({"full_name": "A"}).to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    );
    old_insert!(
        order_item::Entity,
        &db,
        order_item::ActiveModel {
            order_id: Set("00000000-0000-4000-8000-000000000001".to_owned()),
            product_id: Set(Some(1)),
            product_name: Set("Product 1".to_owned()),
            price_snapshot: Set(5000),
            quantity: Set(1),
            subtotal: Set(5000),
            ..Default::default()
        }
    );

    // This version starts on it: the migration runs.
    let app = spawn(Spawn {
        database: Some(database),
        ..Spawn::default()
    })
    .await;
    let db = &app.state.db;
    let variants = variant::Entity::find().all(db).await.expect("variants");
    let seen: Vec<(i64, String, i64, i64, bool)> = variants
        .iter()
        .map(|v| (v.product_id, v.sku.clone(), v.price, v.stock, v.is_active))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "P1".to_owned(), 5000, 7, true),
            (2, "P2".to_owned(), 1250, 0, true),
            (3, "P3".to_owned(), 999, 40, true)
        ]
    );
    let variant_of = |product_id: i64| {
        variants
            .iter()
            .find(|v| v.product_id == product_id)
            .map(|v| v.id)
            .expect("its variant")
    };
    for movement in stock_movement::Entity::find()
        .all(db)
        .await
        .expect("movements")
    {
        assert_eq!(movement.variant_id, variant_of(movement.product_id));
    }
    let line = cart_item::Entity::find()
        .one(db)
        .await
        .expect("line")
        .expect("kept");
    assert_eq!((line.variant_id, line.quantity), (variant_of(3), 2));
    let item = order_item::Entity::find()
        .filter(order_item::Column::ProductId.eq(1))
        .one(db)
        .await
        .expect("item")
        .expect("kept");
    assert_eq!(
        (
            item.variant_id,
            item.sku.as_deref(),
            item.variant_options.as_deref()
        ),
        (Some(variant_of(1)), Some("P1"), Some("{}"))
    );
    // The API shows them as a product without options always was, plus its variant.
    let (status, shown) = app.get("/api/products/1/").await;
    assert_eq!(status, 200);
    assert_eq!(
        (&shown["price"], &shown["stock"], &shown["options"]),
        (&json!("50.00"), &json!(7), &json!([]))
    );
    assert_eq!(shown["variants"][0]["sku"], "P1");
    let (_, page) = app.get("/api/products/?in_stock=true").await;
    assert_eq!(page["count"], 2);
}
