//! Hardening: refresh tokens record the token they were exchanged for (the retry grace needs
//! it); reset codes from before this version are ended, and the mail jobs that carried them in
//! readable form are deleted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    ReplacedBy,
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
        let db = manager.get_connection();
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
            .alter_table(
                Table::alter()
                    .table(RefreshTokens::Table)
                    .drop_column(RefreshTokens::ReplacedBy)
                    .to_owned(),
            )
            .await
    }
}
