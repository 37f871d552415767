//! Reviews: one per user and product (a unique index, so two parallel posts make one), and on
//! each product the count and the sum of its ratings, kept in the same transaction as every
//! review write — so a product's rating is read with the product, and a review moves the
//! product's version like any other change the cached product shows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, integer, string_len, text};

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
    ReviewCount,
    RatingTotal,
}

#[derive(DeriveIden)]
enum Reviews {
    Table,
    Id,
    ProductId,
    UserId,
    Rating,
    Title,
    Body,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL at once: look first, so a run that failed half-way can run again.
        for column in [Products::ReviewCount, Products::RatingTotal] {
            let name = column.to_string();
            if !manager.has_column("products", &name).await? {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Products::Table)
                            .add_column(big_integer(column).default(0))
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .create_table(
                Table::create()
                    .table(Reviews::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Reviews::Id))
                    .col(big_integer(Reviews::ProductId))
                    .col(big_integer(Reviews::UserId))
                    .col(integer(Reviews::Rating))
                    .col(string_len(Reviews::Title, 120))
                    .col(text(Reviews::Body))
                    .col(timestamp(manager, Reviews::CreatedAt))
                    .col(timestamp(manager, Reviews::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Reviews::Table, Reviews::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Reviews::Table, Reviews::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        create_index_once(
            manager,
            "reviews",
            "uq_reviews_product_user",
            Index::create()
                .col(Reviews::ProductId)
                .col(Reviews::UserId)
                .unique()
                .to_owned(),
        )
        .await?;
        create_index_once(
            manager,
            "reviews",
            "idx_reviews_product_created",
            Index::create()
                .col(Reviews::ProductId)
                .col(Reviews::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Reviews::Table).to_owned())
            .await?;
        for column in [Products::ReviewCount, Products::RatingTotal] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Products::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
