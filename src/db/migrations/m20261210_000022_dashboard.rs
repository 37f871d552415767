//! The staff dashboard: its server-side sessions, and what an order keeps of its shipment (the
//! carrier and tracking number staff give when they ship it, and when it shipped and arrived).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string_len, string_len_null};

use super::{add_column_once, create_index_once, timestamp, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AdminSessions {
    Table,
    /// The SHA-256 of the cookie's token (hex): the table never holds a usable token.
    Id,
    UserId,
    /// The token every state-changing request of the session must carry.
    Csrf,
    /// The SHA-256 of the password hash at sign-in: any change of password ends the session.
    PasswordDigest,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

/// The dashboard's overview counts and sums by these, and its lists filter and sort by them.
const INDEXES: &[(&str, &str, &[&str])] = &[
    ("orders", "idx_orders_created", &["created_at"]),
    (
        "orders",
        "idx_orders_payment_created",
        &["payment_status", "created_at"],
    ),
    ("product_variants", "idx_product_variants_stock", &["stock"]),
    ("payments", "idx_payments_status", &["status"]),
    (
        "payment_refunds",
        "idx_payment_refunds_created",
        &["created_at"],
    ),
    ("users", "idx_users_joined", &["date_joined"]),
    ("products", "idx_products_created", &["created_at", "id"]),
    ("products", "idx_products_price", &["price", "id"]),
    ("products", "idx_products_name", &["name", "id"]),
];

#[derive(DeriveIden)]
enum Orders {
    Table,
    Carrier,
    TrackingNumber,
    ShippedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AdminSessions::Table)
                    .if_not_exists()
                    .col(string_len(AdminSessions::Id, 64).primary_key())
                    .col(big_integer(AdminSessions::UserId))
                    .col(string_len(AdminSessions::Csrf, 64))
                    .col(string_len(AdminSessions::PasswordDigest, 64))
                    .col(timestamp(manager, AdminSessions::CreatedAt))
                    .col(timestamp(manager, AdminSessions::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AdminSessions::Table, AdminSessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "admin_sessions",
            "idx_admin_sessions_user",
            Index::create().col(AdminSessions::UserId).to_owned(),
        )
        .await?;
        create_index_once(
            manager,
            "admin_sessions",
            "idx_admin_sessions_seen",
            Index::create().col(AdminSessions::LastSeenAt).to_owned(),
        )
        .await?;
        for (table, name, columns) in INDEXES {
            let mut index = Index::create();
            for column in *columns {
                index.col(Alias::new(*column));
            }
            create_index_once(manager, table, name, index.to_owned()).await?;
        }
        add_column_once(manager, Orders::Table, string_len_null(Orders::Carrier, 60)).await?;
        add_column_once(
            manager,
            Orders::Table,
            string_len_null(Orders::TrackingNumber, 100),
        )
        .await?;
        add_column_once(
            manager,
            Orders::Table,
            timestamp_null(manager, Orders::ShippedAt),
        )
        .await?;
        add_column_once(
            manager,
            Orders::Table,
            timestamp_null(manager, Orders::DeliveredAt),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Orders::Carrier,
            Orders::TrackingNumber,
            Orders::ShippedAt,
            Orders::DeliveredAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Orders::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for (table, name, _) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(*name)
                        .table(Alias::new(*table))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AdminSessions::Table).to_owned())
            .await
    }
}
