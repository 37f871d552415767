//! The `refresh_tokens` table: one row per issued refresh token, grouped in families (one
//! family per login) for rotation and reuse detection.

use sea_orm::entity::prelude::*;

/// An issued refresh token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    pub user_id: i64,
    pub family_id: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// Set when the token was exchanged for a new pair (spent).
    pub used_at: Option<DateTimeUtc>,
    /// Set by logout, password change or reset, or reuse detection.
    pub revoked_at: Option<DateTimeUtc>,
    /// The `jti` of the token this one was exchanged for (set when it was spent).
    pub replaced_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
