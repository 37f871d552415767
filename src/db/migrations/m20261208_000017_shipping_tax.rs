//! Shipping and tax: zones (the countries and regions they cover, one row per area, unique so
//! the database refuses a country in two whole-country zones or a region in two zones), the
//! methods of each zone, tax rates per country, region and class; a product's tax class, the
//! cart's chosen address and method, and what an order keeps of both (amounts, tax lines, the
//! method's name, and per item its rate and tax).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, string_len, string_len_null, text_null,
};

use super::{add_column_once, create_index_once, exact_text, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ShippingZones {
    Table,
    Id,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ShippingZoneAreas {
    Table,
    Id,
    ZoneId,
    Country,
    Region,
    RegionKey,
}

#[derive(DeriveIden)]
enum ShippingMethods {
    Table,
    Id,
    ZoneId,
    Name,
    Kind,
    Price,
    Rates,
    FreeOver,
    MinDays,
    MaxDays,
    IsActive,
    TaxClass,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TaxRates {
    Table,
    Id,
    Country,
    Region,
    RegionKey,
    TaxClass,
    Rate,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    TaxClass,
}

#[derive(DeriveIden)]
enum Carts {
    Table,
    ShippingAddress,
    ShippingMethodId,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    ShippingAmount,
    TaxAmount,
    TaxLines,
    PricesIncludeTax,
    ShippingMethodName,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    TaxRate,
    TaxAmount,
}

async fn zones(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(ShippingZones::Table)
                .if_not_exists()
                .col(big_pk_auto(ShippingZones::Id))
                .col(string_len(ShippingZones::Name, 100))
                .col(timestamp(manager, ShippingZones::CreatedAt))
                .col(timestamp(manager, ShippingZones::UpdatedAt))
                .to_owned(),
        )
        .await?;
    // `region_key` is the region lower-cased, empty for the whole country: one zone per
    // country as a whole and one per region, whatever the case it was written in. Compared
    // byte for byte (`exact_text`): MariaDB's default collation would make `zürich` and
    // `zurich` (or `straße` and `strasse`) one key there and two everywhere else.
    manager
        .create_table(
            Table::create()
                .table(ShippingZoneAreas::Table)
                .if_not_exists()
                .col(big_pk_auto(ShippingZoneAreas::Id))
                .col(big_integer(ShippingZoneAreas::ZoneId))
                .col(string_len(ShippingZoneAreas::Country, 2))
                .col(string_len(ShippingZoneAreas::Region, 100))
                .col(exact_text(manager, ShippingZoneAreas::RegionKey, 100))
                .foreign_key(
                    ForeignKey::create()
                        .from(ShippingZoneAreas::Table, ShippingZoneAreas::ZoneId)
                        .to(ShippingZones::Table, ShippingZones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    create_index_once(
        manager,
        "shipping_zone_areas",
        "uq_shipping_zone_areas_place",
        Index::create()
            .col(ShippingZoneAreas::Country)
            .col(ShippingZoneAreas::RegionKey)
            .unique()
            .to_owned(),
    )
    .await?;
    create_index_once(
        manager,
        "shipping_zone_areas",
        "idx_shipping_zone_areas_zone",
        Index::create().col(ShippingZoneAreas::ZoneId).to_owned(),
    )
    .await
}

async fn methods(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // `price` for a flat method; `rates` (JSON `[[up_to_grams, price], …]`) for a weight one.
    manager
        .create_table(
            Table::create()
                .table(ShippingMethods::Table)
                .if_not_exists()
                .col(big_pk_auto(ShippingMethods::Id))
                .col(big_integer(ShippingMethods::ZoneId))
                .col(string_len(ShippingMethods::Name, 100))
                .col(string_len(ShippingMethods::Kind, 10))
                .col(big_integer_null(ShippingMethods::Price))
                .col(text_null(ShippingMethods::Rates))
                .col(big_integer_null(ShippingMethods::FreeOver))
                .col(big_integer_null(ShippingMethods::MinDays))
                .col(big_integer_null(ShippingMethods::MaxDays))
                .col(boolean(ShippingMethods::IsActive).default(true))
                .col(string_len(ShippingMethods::TaxClass, 32).default("standard"))
                .col(timestamp(manager, ShippingMethods::CreatedAt))
                .col(timestamp(manager, ShippingMethods::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ShippingMethods::Table, ShippingMethods::ZoneId)
                        .to(ShippingZones::Table, ShippingZones::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    create_index_once(
        manager,
        "shipping_methods",
        "idx_shipping_methods_zone",
        Index::create().col(ShippingMethods::ZoneId).to_owned(),
    )
    .await
}

async fn rates(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    // `rate` in millionths of the amount (20.00 % is 200000); `region_key` as for zones,
    // byte for byte.
    manager
        .create_table(
            Table::create()
                .table(TaxRates::Table)
                .if_not_exists()
                .col(big_pk_auto(TaxRates::Id))
                .col(string_len(TaxRates::Country, 2))
                .col(string_len(TaxRates::Region, 100))
                .col(exact_text(manager, TaxRates::RegionKey, 100))
                .col(string_len(TaxRates::TaxClass, 32))
                .col(big_integer(TaxRates::Rate))
                .col(string_len(TaxRates::Name, 100))
                .col(timestamp(manager, TaxRates::CreatedAt))
                .col(timestamp(manager, TaxRates::UpdatedAt))
                .to_owned(),
        )
        .await?;
    create_index_once(
        manager,
        "tax_rates",
        "uq_tax_rates_place_class",
        Index::create()
            .col(TaxRates::Country)
            .col(TaxRates::RegionKey)
            .col(TaxRates::TaxClass)
            .unique()
            .to_owned(),
    )
    .await
}

async fn snapshots(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    add_column_once(
        manager,
        Products::Table,
        string_len(Products::TaxClass, 32)
            .default("standard")
            .take(),
    )
    .await?;
    add_column_once(manager, Carts::Table, text_null(Carts::ShippingAddress)).await?;
    // No foreign key: a method deleted is found missing on the next read and dropped with a
    // message, as one deactivated is.
    add_column_once(
        manager,
        Carts::Table,
        big_integer_null(Carts::ShippingMethodId),
    )
    .await?;
    for column in [Orders::ShippingAmount, Orders::TaxAmount] {
        add_column_once(
            manager,
            Orders::Table,
            big_integer(column).default(0).take(),
        )
        .await?;
    }
    add_column_once(manager, Orders::Table, text_null(Orders::TaxLines)).await?;
    add_column_once(
        manager,
        Orders::Table,
        boolean(Orders::PricesIncludeTax).default(false).take(),
    )
    .await?;
    add_column_once(
        manager,
        Orders::Table,
        string_len_null(Orders::ShippingMethodName, 100),
    )
    .await?;
    for column in [OrderItems::TaxRate, OrderItems::TaxAmount] {
        add_column_once(
            manager,
            OrderItems::Table,
            big_integer(column).default(0).take(),
        )
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        zones(manager).await?;
        methods(manager).await?;
        rates(manager).await?;
        snapshots(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("order_items", "tax_amount"),
            ("order_items", "tax_rate"),
            ("orders", "shipping_method_name"),
            ("orders", "prices_include_tax"),
            ("orders", "tax_lines"),
            ("orders", "tax_amount"),
            ("orders", "shipping_amount"),
            ("carts", "shipping_method_id"),
            ("carts", "shipping_address"),
            ("products", "tax_class"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            "tax_rates",
            "shipping_methods",
            "shipping_zone_areas",
            "shipping_zones",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
