//! Payment claims: before a provider is asked for an order's intent, the request claims the
//! order — one row per order, the database deciding between parallel requests — so however many
//! create-intent calls arrive at once, the provider is asked once (Razorpay has no idempotency
//! key: the guarantee is ours). The claim goes with the payment's insert; one left by a crashed
//! request is taken over once it is older than the provider's timeout.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len;

use super::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PaymentClaims {
    Table,
    OrderId,
    Token,
    ClaimedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PaymentClaims::Table)
                    .if_not_exists()
                    .col(string_len(PaymentClaims::OrderId, 36).primary_key())
                    .col(string_len(PaymentClaims::Token, 36))
                    .col(timestamp(manager, PaymentClaims::ClaimedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PaymentClaims::Table, PaymentClaims::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentClaims::Table).to_owned())
            .await
    }
}
