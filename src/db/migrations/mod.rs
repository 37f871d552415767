//! Versioned schema migrations, applied in order by `emporium migrate` (and by `serve`).
//!
//! Each migration is written once with sea-query's schema builder and runs on SQLite,
//! PostgreSQL and MySQL/MariaDB. Column conventions: money is `BIGINT` minor units; timestamps
//! are `timestamp with time zone` on PostgreSQL, `DATETIME(6)` (UTC) on MySQL — never
//! `TIMESTAMP`, which ends in 2038 — and RFC 3339 text on SQLite.
//!
//! One file per migration, named `mYYYYMMDD_NNNNNN_what.rs`: the file name is the version
//! recorded in `emporium_migrations`, so a file is never renamed once released.

mod m20261124_000001_users;
mod m20261124_000002_jobs;
mod m20261124_000003_accounts;
mod m20261124_000004_catalog;
mod m20261124_000005_hardening;
mod m20261125_000006_inventory;
mod m20261125_000007_cart_coupons;
mod m20261125_000008_orders;
mod m20261125_000009_reviews;
mod m20261125_000010_payments;
mod m20261125_000011_invoices;
mod m20261206_000012_search;
mod m20261207_000013_payment_claims;
mod m20261207_000014_payment_refunds;
mod m20261207_000015_variants;
mod m20261207_000016_image_sizes;
mod m20261208_000017_shipping_tax;
mod m20261208_000018_events;
mod m20261208_000019_webhooks;
mod m20261209_000020_webhook_leases;
mod m20261209_000021_loop_leases;
mod m20261210_000022_dashboard;
mod m20261211_000023_tallies;

pub use m20261211_000023_tallies::recount as recount_tallies;

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

/// The list of migrations, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_users::Migration),
            Box::new(m20261124_000002_jobs::Migration),
            Box::new(m20261124_000003_accounts::Migration),
            Box::new(m20261124_000004_catalog::Migration),
            Box::new(m20261124_000005_hardening::Migration),
            Box::new(m20261125_000006_inventory::Migration),
            Box::new(m20261125_000007_cart_coupons::Migration),
            Box::new(m20261125_000008_orders::Migration),
            Box::new(m20261125_000009_reviews::Migration),
            Box::new(m20261125_000010_payments::Migration),
            Box::new(m20261125_000011_invoices::Migration),
            Box::new(m20261206_000012_search::Migration),
            Box::new(m20261207_000013_payment_claims::Migration),
            Box::new(m20261207_000014_payment_refunds::Migration),
            Box::new(m20261207_000015_variants::Migration),
            Box::new(m20261207_000016_image_sizes::Migration),
            Box::new(m20261208_000017_shipping_tax::Migration),
            Box::new(m20261208_000018_events::Migration),
            Box::new(m20261208_000019_webhooks::Migration),
            Box::new(m20261209_000020_webhook_leases::Migration),
            Box::new(m20261209_000021_loop_leases::Migration),
            Box::new(m20261210_000022_dashboard::Migration),
            Box::new(m20261211_000023_tallies::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        "emporium_migrations".into_iden()
    }
}

/// Creates the index `name` on `table` unless it exists. MySQL has no `CREATE INDEX IF NOT
/// EXISTS` and commits DDL at once, so a migration that failed half-way must look before it
/// creates, to be able to run again.
pub async fn create_index_once(
    manager: &SchemaManager<'_>,
    table: &str,
    name: &str,
    mut statement: IndexCreateStatement,
) -> Result<(), DbErr> {
    if manager.has_index(table, name).await? {
        return Ok(());
    }
    manager
        .create_index(statement.name(name).table(Alias::new(table)).to_owned())
        .await
}

/// Adds `column` to `table` unless it is there: MySQL commits DDL at once, so a migration that
/// failed half-way must look before it alters, to be able to run again.
pub async fn add_column_once(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    let mut column = column;
    let name = column.get_column_name();
    if manager.has_column(table.to_string(), &name).await? {
        return Ok(());
    }
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

/// A text column of at most `length` characters compared byte for byte on every engine (`C`
/// collation on PostgreSQL, `utf8mb4_bin` on MySQL): `é` is not `e`, nor `A` `a`.
pub fn exact_text(manager: &SchemaManager<'_>, name: impl IntoIden, length: u32) -> ColumnDef {
    match manager.get_database_backend() {
        DbBackend::MySql => ColumnDef::new(name)
            .custom(format!(
                "VARCHAR({length}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .not_null()
            .take(),
        DbBackend::Postgres => sea_orm_migration::schema::string_len(name, length)
            .extra("COLLATE \"C\"")
            .take(),
        _ => sea_orm_migration::schema::string_len(name, length),
    }
}

/// A timestamp column in the form that suits the engine (see the module docs).
pub fn timestamp(manager: &SchemaManager<'_>, name: impl IntoIden) -> ColumnDef {
    let mut column = ColumnDef::new(name);
    match manager.get_database_backend() {
        DbBackend::MySql => column.custom("DATETIME(6)"),
        _ => column.timestamp_with_time_zone(),
    };
    column.not_null().take()
}

/// A nullable [`timestamp`] column.
pub fn timestamp_null(manager: &SchemaManager<'_>, name: impl IntoIden) -> ColumnDef {
    let mut column = timestamp(manager, name);
    column.null().take()
}
