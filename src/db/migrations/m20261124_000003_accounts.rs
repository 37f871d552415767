//! Accounts: refresh tokens (rotation and reuse detection), password-reset tokens, addresses.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, boolean, string_len, string_len_null};

use super::{timestamp, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Jti,
    UserId,
    FamilyId,
    ExpiresAt,
    CreatedAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum PasswordResetTokens {
    Table,
    TokenHash,
    UserId,
    ExpiresAt,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Addresses {
    Table,
    Id,
    UserId,
    FullName,
    Line1,
    Line2,
    City,
    State,
    PostalCode,
    Country,
    Phone,
    IsDefault,
    CreatedAt,
    UpdatedAt,
}

fn user_fk(
    table: impl IntoIden + 'static,
    column: impl IntoIden + 'static,
    name: &str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .if_not_exists()
                    .col(string_len(RefreshTokens::Jti, 36).primary_key())
                    .col(big_integer(RefreshTokens::UserId))
                    .col(string_len(RefreshTokens::FamilyId, 36))
                    .col(timestamp(manager, RefreshTokens::ExpiresAt))
                    .col(timestamp(manager, RefreshTokens::CreatedAt))
                    .col(timestamp_null(manager, RefreshTokens::UsedAt))
                    .col(timestamp_null(manager, RefreshTokens::RevokedAt))
                    .foreign_key(&mut user_fk(
                        RefreshTokens::Table,
                        RefreshTokens::UserId,
                        "refresh_tokens_user",
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("refresh_tokens_user_id", RefreshTokens::UserId),
            ("refresh_tokens_family_id", RefreshTokens::FamilyId),
        ] {
            super::create_index_once(
                manager,
                "refresh_tokens",
                name,
                Index::create().col(column).to_owned(),
            )
            .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(PasswordResetTokens::Table)
                    .if_not_exists()
                    .col(string_len(PasswordResetTokens::TokenHash, 64).primary_key())
                    .col(big_integer(PasswordResetTokens::UserId))
                    .col(timestamp(manager, PasswordResetTokens::ExpiresAt))
                    .col(timestamp(manager, PasswordResetTokens::CreatedAt))
                    .col(timestamp_null(manager, PasswordResetTokens::UsedAt))
                    .foreign_key(&mut user_fk(
                        PasswordResetTokens::Table,
                        PasswordResetTokens::UserId,
                        "password_reset_tokens_user",
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Addresses::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Addresses::Id))
                    .col(big_integer(Addresses::UserId))
                    .col(string_len(Addresses::FullName, 150))
                    .col(string_len(Addresses::Line1, 255))
                    .col(string_len(Addresses::Line2, 255).default(""))
                    .col(string_len(Addresses::City, 100))
                    .col(string_len(Addresses::State, 100).default(""))
                    .col(string_len(Addresses::PostalCode, 20))
                    .col(string_len(Addresses::Country, 2))
                    .col(string_len_null(Addresses::Phone, 32))
                    .col(boolean(Addresses::IsDefault).default(false))
                    .col(timestamp(manager, Addresses::CreatedAt))
                    .col(timestamp(manager, Addresses::UpdatedAt))
                    .foreign_key(&mut user_fk(
                        Addresses::Table,
                        Addresses::UserId,
                        "addresses_user",
                    ))
                    .to_owned(),
            )
            .await?;
        super::create_index_once(
            manager,
            "addresses",
            "addresses_user_id",
            Index::create().col(Addresses::UserId).to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Addresses::Table.into_iden(),
            PasswordResetTokens::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
