//! The `users` table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_pk_auto, boolean, string_len};

use super::{timestamp, timestamp_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Password,
    FirstName,
    LastName,
    IsStaff,
    IsActive,
    DateJoined,
    LastLogin,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Users::Id))
                    .col(string_len(Users::Email, 254).unique_key())
                    .col(string_len(Users::Password, 255))
                    .col(string_len(Users::FirstName, 150).default(""))
                    .col(string_len(Users::LastName, 150).default(""))
                    .col(boolean(Users::IsStaff).default(false))
                    .col(boolean(Users::IsActive).default(true))
                    .col(timestamp(manager, Users::DateJoined))
                    .col(timestamp_null(manager, Users::LastLogin))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
