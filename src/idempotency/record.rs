//! The `idempotency_records` table: the first answer to a request made with an
//! `Idempotency-Key`, unique per user, scope and key.

use sea_orm::entity::prelude::*;

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// Which endpoint (`orders.create`).
    pub scope: String,
    pub key: String,
    /// SHA-256 of the parsed request, to tell a retry from a different request.
    pub request_hash: String,
    pub status: i32,
    /// The JSON body answered.
    pub response: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
