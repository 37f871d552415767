//! Hardening: refresh tokens record the token they were exchanged for (the retry grace needs
//! it); reset codes from before this version are ended, and the mail jobs that carried them in
//! readable form are deleted; `emporium_locks` holds the rows MySQL's exclusive transactions
//! lock (see `db::begin_exclusive`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string_len, string_len_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    ReplacedBy,
}

#[derive(DeriveIden)]
enum EmporiumLocks {
    Table,
    Name,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // MySQL commits DDL at once: check first, so a run that failed half-way can run again.
        if !manager.has_column("refresh_tokens", "replaced_by").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table(RefreshTokens::Table)
                        .add_column(string_len_null(RefreshTokens::ReplacedBy, 36))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(EmporiumLocks::Table)
                    .if_not_exists()
                    .col(string_len(EmporiumLocks::Name, 191).primary_key())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if manager.get_database_backend() == sea_orm::DbBackend::MySql {
            // MySQL's TEXT holds 65,535 bytes: 20,000 four-byte characters (the longest
            // description the API accepts) would not fit. MEDIUMTEXT holds 16 MiB; the other
            // engines' text types have no such limit. Re-running it changes nothing.
            db.execute_unprepared(
                "ALTER TABLE products MODIFY description MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL",
            )
            .await?;
            db.execute_unprepared("ALTER TABLE categories MODIFY description MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL")
                .await?;
            // Emails are compared exactly (they are stored lower-cased): an accent- or
            // case-insensitive collation would let `vïctim@…` log in as `victim@…` and count
            // its failures under another key.
            db.execute_unprepared(
                "ALTER TABLE users MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 \
                 COLLATE utf8mb4_bin NOT NULL",
            )
            .await?;
            db.execute_unprepared(
                "ALTER TABLE jobs MODIFY payload MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL",
            )
            .await?;
            db.execute_unprepared(
                "ALTER TABLE jobs MODIFY last_error MEDIUMTEXT CHARACTER SET utf8mb4 NULL",
            )
            .await?;
        }
        db.execute_unprepared("DELETE FROM password_reset_tokens")
            .await?;
        db.execute_unprepared(
            "DELETE FROM jobs WHERE kind = 'email.send' AND payload LIKE '%\"subject\":\"Reset your %'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmporiumLocks::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .drop_column(RefreshTokens::ReplacedBy)
                    .to_owned(),
            )
            .await
    }
}
