//! Options and variants. A product may have options (`products.options`, a JSON list of names
//! and values) and is sold as variants (`product_variants`), each with its own SKU, price,
//! stock and picture. The product keeps `price` (the lowest active variant price), `stock`
//! (the sum over active variants) and `active_variants` as figures kept with every variant
//! write, so lists filter and order on one table.
//!
//! A variant's options are also kept in `option1`..`option3`, one per product option in the
//! product's order, each `name\u{1f}value` lower-cased (`''` when the product has fewer
//! options): the unique index on `(product_id, option1, option2, option3)` is "one variant per
//! combination", and filters compare them byte for byte. `sku_key` (the lower-cased SKU) is
//! unique in the shop.
//!
//! Every existing product gets its one variant (`P{id}`, its price and stock, no options), and
//! its stock movements, cart lines and order items point at it: set-based statements, so a
//! shop of 100,000 products migrates in seconds.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, string_len, string_len_null, text_null,
};

use super::{add_column_once, create_index_once, exact_text, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Options,
    ActiveVariants,
}

#[derive(DeriveIden)]
enum ProductImages {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ProductVariants {
    Table,
    Id,
    ProductId,
    Sku,
    SkuKey,
    Option1,
    Option2,
    Option3,
    Options,
    Price,
    CompareAtPrice,
    Stock,
    IsActive,
    WeightGrams,
    TaxClass,
    ImageId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StockMovements {
    Id,
    VariantId,
}

#[derive(DeriveIden)]
enum CartItems {
    Table,
    CartId,
    VariantId,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    Sku,
    VariantOptions,
}

/// A text column compared byte for byte, `''` by default (the values are lower-cased before
/// they are stored).
fn exact(manager: &SchemaManager<'_>, name: impl IntoIden, length: u32) -> ColumnDef {
    exact_text(manager, name, length).default("").take()
}

async fn create_variants(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ProductVariants::Table)
                .if_not_exists()
                .col(big_pk_auto(ProductVariants::Id))
                .col(big_integer(ProductVariants::ProductId))
                .col(string_len(ProductVariants::Sku, 64))
                .col(exact(manager, ProductVariants::SkuKey, 64))
                .col(exact(manager, ProductVariants::Option1, 210))
                .col(exact(manager, ProductVariants::Option2, 210))
                .col(exact(manager, ProductVariants::Option3, 210))
                .col(text_null(ProductVariants::Options))
                .col(big_integer(ProductVariants::Price))
                .col(big_integer_null(ProductVariants::CompareAtPrice))
                .col(big_integer(ProductVariants::Stock))
                .col(boolean(ProductVariants::IsActive))
                .col(big_integer_null(ProductVariants::WeightGrams))
                .col(string_len_null(ProductVariants::TaxClass, 32))
                .col(big_integer_null(ProductVariants::ImageId))
                .col(timestamp(manager, ProductVariants::CreatedAt))
                .col(timestamp(manager, ProductVariants::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ProductVariants::Table, ProductVariants::ProductId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ProductVariants::Table, ProductVariants::ImageId)
                        .to(ProductImages::Table, ProductImages::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
    create_index_once(
        manager,
        "product_variants",
        "uq_product_variants_sku",
        Index::create()
            .col(ProductVariants::SkuKey)
            .unique()
            .to_owned(),
    )
    .await?;
    create_index_once(
        manager,
        "product_variants",
        "uq_product_variants_combination",
        Index::create()
            .col(ProductVariants::ProductId)
            .col(ProductVariants::Option1)
            .col(ProductVariants::Option2)
            .col(ProductVariants::Option3)
            .unique()
            .to_owned(),
    )
    .await?;
    for column in [
        ProductVariants::Option1,
        ProductVariants::Option2,
        ProductVariants::Option3,
    ] {
        let name = format!("idx_product_variants_{}", column.to_string());
        create_index_once(
            manager,
            "product_variants",
            &name,
            Index::create()
                .col(column)
                .col(ProductVariants::ProductId)
                .to_owned(),
        )
        .await?;
    }
    Ok(())
}

/// A reference column to `product_variants`, with its foreign key. SQLite adds a column with
/// its reference in one statement (it cannot add a foreign key to an existing table).
async fn add_variant_ref(
    manager: &SchemaManager<'_>,
    table: &str,
    on_delete: ForeignKeyAction,
) -> Result<(), DbErr> {
    if manager.has_column(table, "variant_id").await? {
        return Ok(());
    }
    if manager.get_database_backend() == DbBackend::Sqlite {
        let action = match on_delete {
            ForeignKeyAction::Cascade => "CASCADE",
            _ => "SET NULL",
        };
        let statement = format!(
            "ALTER TABLE {table} ADD COLUMN variant_id BIGINT NULL \
             REFERENCES product_variants (id) ON DELETE {action}"
        );
        manager
            .get_connection()
            .execute_unprepared(&statement)
            .await?;
        return Ok(());
    }
    add_column_once(
        manager,
        Alias::new(table),
        big_integer_null(StockMovements::VariantId),
    )
    .await?;
    manager
        .create_foreign_key(
            ForeignKey::create()
                .name(format!("fk_{table}_variant"))
                .from(Alias::new(table), StockMovements::VariantId)
                .to(ProductVariants::Table, ProductVariants::Id)
                .on_delete(on_delete)
                .to_owned(),
        )
        .await
}

/// The statements that give every product its variant and point the rows that named the
/// product at it.
fn backfill(backend: DbBackend) -> Vec<String> {
    let sku = match backend {
        DbBackend::MySql => "CONCAT('P', p.id)",
        _ => "'P' || CAST(p.id AS VARCHAR(20))",
    };
    let sku_key = match backend {
        DbBackend::MySql => "CONCAT('p', p.id)",
        _ => "'p' || CAST(p.id AS VARCHAR(20))",
    };
    let truth = if backend == DbBackend::Postgres {
        "TRUE"
    } else {
        "1"
    };
    // Before this migration a product has exactly one variant; `MIN` keeps a run again (after
    // a failure half-way) from meeting a product that has several since.
    let only = "(SELECT MIN(v.id) FROM product_variants v WHERE v.product_id = {t}.product_id)";
    let point = |table: &str| {
        format!(
            "UPDATE {table} SET variant_id = {} WHERE variant_id IS NULL AND product_id IS NOT NULL",
            only.replace("{t}", table)
        )
    };
    vec![
        format!(
            "INSERT INTO product_variants (product_id, sku, sku_key, option1, option2, option3, \
             options, price, compare_at_price, stock, is_active, weight_grams, tax_class, \
             image_id, created_at, updated_at) \
             SELECT p.id, {sku}, {sku_key}, '', '', '', '{{}}', p.price, NULL, p.stock, {truth}, \
             NULL, NULL, NULL, p.created_at, p.updated_at FROM products p \
             WHERE p.options IS NULL \
             AND NOT EXISTS (SELECT 1 FROM product_variants w WHERE w.product_id = p.id)"
        ),
        format!(
            "UPDATE products SET active_variants = (SELECT COUNT(*) FROM product_variants v \
             WHERE v.product_id = products.id AND v.is_active = {truth})"
        ),
        point("stock_movements"),
        point("cart_items"),
        point("order_items"),
        "UPDATE order_items SET sku = (SELECT v.sku FROM product_variants v \
         WHERE v.id = order_items.variant_id), variant_options = '{}' WHERE sku IS NULL"
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_variants(manager).await?;
        add_column_once(manager, Products::Table, text_null(Products::Options)).await?;
        add_column_once(
            manager,
            Products::Table,
            big_integer(Products::ActiveVariants).default(0).take(),
        )
        .await?;
        add_variant_ref(manager, "stock_movements", ForeignKeyAction::Cascade).await?;
        add_variant_ref(manager, "cart_items", ForeignKeyAction::Cascade).await?;
        add_variant_ref(manager, "order_items", ForeignKeyAction::SetNull).await?;
        add_column_once(
            manager,
            OrderItems::Table,
            string_len_null(OrderItems::Sku, 64),
        )
        .await?;
        add_column_once(
            manager,
            OrderItems::Table,
            text_null(OrderItems::VariantOptions),
        )
        .await?;
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        for statement in backfill(backend) {
            db.execute_unprepared(&statement).await?;
        }
        // Lines are per variant now: the new unique index first (MySQL's foreign key on
        // `cart_id` needs an index that starts with it), then the per-product one goes.
        create_index_once(
            manager,
            "cart_items",
            "uq_cart_items_cart_variant",
            Index::create()
                .col(CartItems::CartId)
                .col(CartItems::VariantId)
                .unique()
                .to_owned(),
        )
        .await?;
        if manager
            .has_index("cart_items", "uq_cart_items_cart_product")
            .await?
        {
            manager
                .drop_index(
                    Index::drop()
                        .name("uq_cart_items_cart_product")
                        .table(CartItems::Table)
                        .to_owned(),
                )
                .await?;
        }
        create_index_once(
            manager,
            "stock_movements",
            "idx_stock_movements_variant",
            Index::create()
                .col(StockMovements::VariantId)
                .col(StockMovements::Id)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the variants migration is not reversible: variants would lose their stock".to_owned(),
        ))
    }
}
