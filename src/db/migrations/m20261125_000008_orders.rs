//! Orders: the order with its money and a copy of the shipping address, its lines with the
//! price and name as they were, and the idempotency records that make a retried request
//! answer what the first one did.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, integer, string_len, string_len_null, text,
};

use super::{create_index_once, timestamp};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Coupons {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    UserId,
    Status,
    PaymentStatus,
    Subtotal,
    Discount,
    TotalAmount,
    Currency,
    Coupon,
    CouponId,
    ShippingAddress,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderItems {
    Table,
    Id,
    OrderId,
    ProductId,
    ProductName,
    PriceSnapshot,
    Quantity,
    Subtotal,
}

#[derive(DeriveIden)]
enum IdempotencyRecords {
    Table,
    Id,
    UserId,
    Scope,
    Key,
    RequestHash,
    Status,
    Response,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Money in minor units; `shipping_address` is the address as JSON text, a copy.
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .if_not_exists()
                    .col(string_len(Orders::Id, 36).primary_key())
                    .col(big_integer(Orders::UserId))
                    .col(string_len(Orders::Status, 16))
                    .col(string_len(Orders::PaymentStatus, 16))
                    .col(big_integer(Orders::Subtotal))
                    .col(big_integer(Orders::Discount))
                    .col(big_integer(Orders::TotalAmount))
                    .col(string_len(Orders::Currency, 3))
                    .col(string_len_null(Orders::Coupon, 50))
                    .col(big_integer_null(Orders::CouponId))
                    .col(text(Orders::ShippingAddress))
                    .col(timestamp(manager, Orders::CreatedAt))
                    .col(timestamp(manager, Orders::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::CouponId)
                            .to(Coupons::Table, Coupons::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "orders",
            "idx_orders_user_created",
            Index::create()
                .col(Orders::UserId)
                .col(Orders::CreatedAt)
                .to_owned(),
        )
        .await?;
        create_index_once(
            manager,
            "orders",
            "idx_orders_status_created",
            Index::create()
                .col(Orders::Status)
                .col(Orders::CreatedAt)
                .to_owned(),
        )
        .await?;
        // A deleted product leaves its lines readable: the name and price are copies.
        manager
            .create_table(
                Table::create()
                    .table(OrderItems::Table)
                    .if_not_exists()
                    .col(big_pk_auto(OrderItems::Id))
                    .col(string_len(OrderItems::OrderId, 36))
                    .col(big_integer_null(OrderItems::ProductId))
                    .col(string_len(OrderItems::ProductName, 200))
                    .col(big_integer(OrderItems::PriceSnapshot))
                    .col(big_integer(OrderItems::Quantity))
                    .col(big_integer(OrderItems::Subtotal))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderItems::Table, OrderItems::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderItems::Table, OrderItems::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "order_items",
            "idx_order_items_order",
            Index::create().col(OrderItems::OrderId).to_owned(),
        )
        .await?;
        create_index_once(
            manager,
            "order_items",
            "idx_order_items_product",
            Index::create().col(OrderItems::ProductId).to_owned(),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyRecords::Table)
                    .if_not_exists()
                    .col(big_pk_auto(IdempotencyRecords::Id))
                    .col(big_integer(IdempotencyRecords::UserId))
                    .col(string_len(IdempotencyRecords::Scope, 40))
                    .col(string_len(IdempotencyRecords::Key, 100))
                    .col(string_len(IdempotencyRecords::RequestHash, 64))
                    .col(integer(IdempotencyRecords::Status))
                    .col(text(IdempotencyRecords::Response))
                    .col(timestamp(manager, IdempotencyRecords::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(IdempotencyRecords::Table, IdempotencyRecords::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "idempotency_records",
            "uq_idempotency_user_scope_key",
            Index::create()
                .col(IdempotencyRecords::UserId)
                .col(IdempotencyRecords::Scope)
                .col(IdempotencyRecords::Key)
                .unique()
                .to_owned(),
        )
        .await?;
        create_index_once(
            manager,
            "idempotency_records",
            "idx_idempotency_created",
            Index::create()
                .col(IdempotencyRecords::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["idempotency_records", "order_items", "orders"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
