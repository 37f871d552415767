//! The `users` table.

use sea_orm::entity::prelude::*;

/// A user account. `email` is stored lower-cased; `password` is an Argon2id PHC string.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub date_joined: DateTimeUtc,
    pub last_login: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
