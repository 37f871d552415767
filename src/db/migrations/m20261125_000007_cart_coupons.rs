//! Cart and coupons: one cart per user with one line per product; coupons with their limits,
//! and a per-user count of each coupon's uses so both limits are conditional updates.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, big_pk_auto, boolean, string_len};

use super::{create_index_once, timestamp, timestamp_null};

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
    Code,
    CodeKey,
    Kind,
    Value,
    MinOrderAmount,
    ValidFrom,
    ValidUntil,
    MaxUses,
    MaxUsesPerUser,
    Uses,
    IsActive,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CouponUses {
    Table,
    Id,
    CouponId,
    UserId,
    Uses,
}

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
    UserId,
    CouponId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CartItems {
    Table,
    Id,
    CartId,
    ProductId,
    Quantity,
    AddedAt,
}

fn cascade(
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `value` is basis points (hundredths of a percent) for `percent`, minor units of the
        // shop's currency for `fixed`; `code_key` is the lower-cased code, unique, so codes are
        // unique whatever their case on every engine.
        manager
            .create_table(
                Table::create()
                    .table(Coupons::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Coupons::Id))
                    .col(string_len(Coupons::Code, 50))
                    .col(string_len(Coupons::CodeKey, 50))
                    .col(string_len(Coupons::Kind, 10))
                    .col(big_integer(Coupons::Value))
                    .col(big_integer(Coupons::MinOrderAmount).default(0))
                    .col(timestamp_null(manager, Coupons::ValidFrom))
                    .col(timestamp_null(manager, Coupons::ValidUntil))
                    .col(big_integer_null(Coupons::MaxUses))
                    .col(big_integer_null(Coupons::MaxUsesPerUser))
                    .col(big_integer(Coupons::Uses).default(0))
                    .col(boolean(Coupons::IsActive).default(true))
                    .col(timestamp(manager, Coupons::CreatedAt))
                    .col(timestamp(manager, Coupons::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "coupons",
            "uq_coupons_code_key",
            Index::create().col(Coupons::CodeKey).unique().to_owned(),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(CouponUses::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CouponUses::Id))
                    .col(big_integer(CouponUses::CouponId))
                    .col(big_integer(CouponUses::UserId))
                    .col(big_integer(CouponUses::Uses).default(0))
                    .foreign_key(&mut cascade(
                        (CouponUses::Table, CouponUses::CouponId),
                        (Coupons::Table, Coupons::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (CouponUses::Table, CouponUses::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "coupon_uses",
            "uq_coupon_uses_coupon_user",
            Index::create()
                .col(CouponUses::CouponId)
                .col(CouponUses::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(Carts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Carts::Id))
                    .col(big_integer(Carts::UserId))
                    .col(big_integer_null(Carts::CouponId))
                    .col(timestamp(manager, Carts::CreatedAt))
                    .col(timestamp(manager, Carts::UpdatedAt))
                    .foreign_key(&mut cascade(
                        (Carts::Table, Carts::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Carts::Table, Carts::CouponId)
                            .to(Coupons::Table, Coupons::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "carts",
            "uq_carts_user",
            Index::create().col(Carts::UserId).unique().to_owned(),
        )
        .await?;
        // The clean-up job finds idle carts by age.
        create_index_once(
            manager,
            "carts",
            "idx_carts_updated_at",
            Index::create().col(Carts::UpdatedAt).to_owned(),
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(CartItems::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CartItems::Id))
                    .col(big_integer(CartItems::CartId))
                    .col(big_integer(CartItems::ProductId))
                    .col(big_integer(CartItems::Quantity))
                    .col(timestamp(manager, CartItems::AddedAt))
                    .foreign_key(&mut cascade(
                        (CartItems::Table, CartItems::CartId),
                        (Carts::Table, Carts::Id),
                    ))
                    .foreign_key(&mut cascade(
                        (CartItems::Table, CartItems::ProductId),
                        (Products::Table, Products::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "cart_items",
            "uq_cart_items_cart_product",
            Index::create()
                .col(CartItems::CartId)
                .col(CartItems::ProductId)
                .unique()
                .to_owned(),
        )
        .await?;
        // Deleting a product finds its cart lines without a scan.
        create_index_once(
            manager,
            "cart_items",
            "idx_cart_items_product",
            Index::create().col(CartItems::ProductId).to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["cart_items", "carts", "coupon_uses", "coupons"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
