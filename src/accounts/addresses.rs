//! A user's address book: one default at most, the first address is the default, another
//! user's address does not exist.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::{address, store};
use crate::http::error::{ApiError, not_found};
use crate::{db, time};

/// The fields of an address as a request gives them (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct AddressInput {
    pub full_name: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<Option<String>>,
    pub is_default: Option<bool>,
}

/// A page of the user's addresses, default first, then newest.
pub async fn list_addresses(
    db: &DatabaseConnection,
    user_id: i64,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<address::Model>), ApiError> {
    Ok(store::addresses_page(db, user_id, offset, limit).await?)
}

/// One of the user's addresses; another user's is "not found".
pub async fn get_address<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    id: i64,
) -> Result<address::Model, ApiError> {
    store::address(conn, user_id, id)
        .await?
        .ok_or_else(not_found)
}

/// One of the user's addresses, if it is theirs (for another app: an order copies it).
pub async fn address_of<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    id: i64,
) -> Result<Option<address::Model>, DbErr> {
    store::address(conn, user_id, id).await
}

/// The user's default address, if they have one.
pub async fn default_address_of<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
) -> Result<Option<address::Model>, DbErr> {
    store::default_address(conn, user_id).await
}

/// The lock of one user's address book: "is this the first address?" and "unset the other
/// default" read before they write, so two requests of one user take turns.
fn addresses_lock(user_id: i64) -> String {
    format!("addresses:user:{user_id}")
}

/// Creates an address (all required fields already checked). The user's first address is the
/// default; a new default unsets the old one in the same transaction.
pub async fn create_address(
    db: &DatabaseConnection,
    user_id: i64,
    input: AddressInput,
) -> Result<address::Model, ApiError> {
    let tx = db::begin_exclusive(db, &addresses_lock(user_id)).await?;
    let is_default = input.is_default.unwrap_or(false) || !store::has_address(&tx, user_id).await?;
    let row = store::insert_address(&tx, user_id, input, is_default, time::now()).await?;
    if row.is_default {
        store::clear_default_address(&tx, user_id, row.id).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Changes the given fields of one of the user's addresses.
pub async fn update_address(
    db: &DatabaseConnection,
    user_id: i64,
    id: i64,
    input: AddressInput,
) -> Result<address::Model, ApiError> {
    let tx = db::begin_exclusive(db, &addresses_lock(user_id)).await?;
    let current = get_address(&tx, user_id, id).await?;
    let row = store::update_address(&tx, current, input, time::now()).await?;
    if row.is_default {
        store::clear_default_address(&tx, user_id, row.id).await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// Deletes one of the user's addresses.
pub async fn delete_address(
    db: &DatabaseConnection,
    user_id: i64,
    id: i64,
) -> Result<(), ApiError> {
    if store::delete_address(db, user_id, id).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}
