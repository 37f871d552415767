//! Coupon rules with the database: staff create, change and delete coupons; a cart checks one
//! by code; an order redeems one — both limits counted by conditional updates, so parallel
//! orders can never pass `max_uses` or `max_uses_per_user` — and a cancelled order gives its
//! use back.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QuerySelect, Set};

use super::rules::{self, Kind, Refusal};
use super::views::CouponInput;
use super::{coupon, store};
use crate::db;
use crate::http::error::{ApiError, FieldErrors, field_error, not_found, unique_field_error};
use crate::money::{Currency, Money};
use crate::time;

/// A refusal as the client sees it: 400 under `code`, saying why.
pub fn refused(refusal: &Refusal, currency: Currency) -> ApiError {
    field_error("code", refusal.message(currency))
}

/// A page of coupons, newest first.
pub async fn list_coupons(
    db: &DatabaseConnection,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<coupon::Model>), ApiError> {
    Ok(store::page(db, offset, limit).await?)
}

/// One coupon.
pub async fn get_coupon(db: &DatabaseConnection, id: i64) -> Result<coupon::Model, ApiError> {
    store::coupon(db, id).await?.ok_or_else(not_found)
}

const CODE_TAKEN: &str = "A coupon with this code already exists.";

/// The kind and value after a change to `current` (or of a new coupon), and the dates; every
/// rule that spans fields is checked here.
fn checked(
    input: &CouponInput,
    current: Option<&coupon::Model>,
    currency: Currency,
) -> Result<(Kind, i64), ApiError> {
    let mut errors = FieldErrors::new();
    let current_kind = current.map(|c| c.kind);
    let kind = input.kind.or(current_kind).unwrap_or(Kind::Fixed);
    let value = match (&input.value, current) {
        (Some(text), _) => match kind.parse_value(text, currency) {
            Ok(value) => value,
            Err(message) => {
                errors.add("value", message);
                0
            }
        },
        (None, Some(current)) if input.kind.is_none_or(|k| Some(k) == current_kind) => {
            current.value
        }
        _ => {
            errors.add("value", "Give the value with the kind.");
            0
        }
    };
    let valid_from = input
        .valid_from
        .unwrap_or_else(|| current.and_then(|c| c.valid_from));
    let valid_until = input
        .valid_until
        .unwrap_or_else(|| current.and_then(|c| c.valid_until));
    if let (Some(from), Some(until)) = (valid_from, valid_until)
        && until <= from
    {
        errors.add("valid_until", "Must be later than valid_from.");
    }
    errors.into_result()?;
    Ok((kind, value))
}

/// Creates a coupon; a code taken in any case is a 400 on `code`.
pub async fn create_coupon(
    db: &DatabaseConnection,
    currency: Currency,
    input: CouponInput,
) -> Result<coupon::Model, ApiError> {
    let (kind, value) = checked(&input, None, currency)?;
    let code = input.code.unwrap_or_default();
    let now = time::now();
    let row = coupon::ActiveModel {
        code_key: Set(store::code_key(&code)),
        code: Set(code),
        kind: Set(kind),
        value: Set(value),
        min_order_amount: Set(input.min_order_amount.unwrap_or(Money::ZERO).minor()),
        max_uses: Set(input.max_uses.flatten()),
        max_uses_per_user: Set(input.max_uses_per_user.flatten()),
        uses: Set(0),
        is_active: Set(input.is_active.unwrap_or(true)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let tx = db::begin_write(db).await?;
    let row = store::insert(&tx, row)
        .await
        .map_err(|e| unique_field_error(e, "code", CODE_TAKEN))?;
    store::set_dates(&tx, row.id, input.valid_from, input.valid_until).await?;
    let row = store::coupon(&tx, row.id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(row)
}

/// Changes the given fields of a coupon (its count of uses is never written here, so a
/// redemption running at the same time is not lost).
pub async fn update_coupon(
    db: &DatabaseConnection,
    currency: Currency,
    id: i64,
    input: CouponInput,
) -> Result<coupon::Model, ApiError> {
    let tx = db::begin_write(db).await?;
    let current = coupon::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&tx)
        .await?
        .ok_or_else(not_found)?;
    let (kind, value) = checked(&input, Some(&current), currency)?;
    let mut row: coupon::ActiveModel = current.into();
    if let Some(code) = input.code {
        row.code_key = Set(store::code_key(&code));
        row.code = Set(code);
    }
    row.kind = Set(kind);
    row.value = Set(value);
    db::set_given(
        &mut row.min_order_amount,
        input.min_order_amount.map(Money::minor),
    );
    db::set_given(&mut row.max_uses, input.max_uses);
    db::set_given(&mut row.max_uses_per_user, input.max_uses_per_user);
    db::set_given(&mut row.is_active, input.is_active);
    row.updated_at = Set(time::now());
    let row = store::update(&tx, row)
        .await
        .map_err(|e| unique_field_error(e, "code", CODE_TAKEN))?;
    store::set_dates(&tx, row.id, input.valid_from, input.valid_until).await?;
    let row = store::coupon(&tx, row.id).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes a coupon; carts that held it lose it, orders keep their copy of the code.
pub async fn delete_coupon(db: &DatabaseConnection, id: i64) -> Result<(), ApiError> {
    if store::delete(db, id).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// The coupon called `code`, whatever its case. Only codes a coupon can have are looked up: no
/// engine's collation or Unicode case folding can make another string match one.
pub async fn find_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<coupon::Model>, DbErr> {
    let code = code.trim();
    if !super::views::is_code(code) {
        return Ok(None);
    }
    store::by_code(conn, code).await
}

/// The coupon called `code` if `user_id` may use it now on `subtotal`, else why not.
pub async fn usable_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
    user_id: i64,
    subtotal: Money,
    now: DateTime<Utc>,
) -> Result<Result<coupon::Model, Refusal>, DbErr> {
    let Some(coupon) = find_by_code(conn, code).await? else {
        return Ok(Err(Refusal::Unknown));
    };
    let user_uses = store::user_uses(conn, coupon.id, user_id).await?;
    Ok(rules::check(&coupon, now, user_uses, subtotal).map(|()| coupon))
}

/// `coupon` checked again for `user_id` on `subtotal` (a cart does this on every read: it may
/// have expired or been used up since it was applied): its discount, or why it gives none.
pub async fn evaluate<C: ConnectionTrait>(
    conn: &C,
    coupon: &coupon::Model,
    user_id: i64,
    subtotal: Money,
    now: DateTime<Utc>,
) -> Result<Result<Money, Refusal>, DbErr> {
    let user_uses = store::user_uses(conn, coupon.id, user_id).await?;
    Ok(rules::check(coupon, now, user_uses, subtotal).map(|()| rules::discount(coupon, subtotal)))
}

/// A coupon used on an order, and what it took off.
#[derive(Clone, Debug)]
pub struct Redeemed {
    pub coupon: coupon::Model,
    pub discount: Money,
}

/// Uses `coupon` once for `user_id` on an order of `subtotal`, in `conn`'s transaction.
/// `coupon` is read with [`store::locked`] in the same transaction, so every rule — and the
/// discount — is judged on the coupon as it is, and redemptions of one coupon take turns on its
/// row until their transactions end. The global count and the user's count each move by a
/// conditional update (guards that hold even for a stale `coupon`), so any number of parallel
/// orders stay within `max_uses` and `max_uses_per_user`. A refusal leaves both counts as they
/// were; the caller decides whether the order goes on without the coupon. Two statements when
/// the user's counter row exists (see [`prepare_user`]), four on a first use without it.
pub async fn redeem<C: ConnectionTrait>(
    conn: &C,
    coupon: &coupon::Model,
    user_id: i64,
    subtotal: Money,
    now: DateTime<Utc>,
) -> Result<Result<Redeemed, Refusal>, DbErr> {
    // Everything but the user's own count, on the row as read.
    if let Err(refusal) = rules::check(coupon, now, 0, subtotal) {
        return Ok(Err(refusal));
    }
    if !store::take_use(conn, coupon.id, now).await? {
        // Not usable after all (the row moved on since it was read): say why, as it is now.
        let Some(current) = store::coupon(conn, coupon.id).await? else {
            return Ok(Err(Refusal::Unknown));
        };
        let user_uses = store::user_uses(conn, coupon.id, user_id).await?;
        let refusal = rules::check(&current, now, user_uses, subtotal)
            .err()
            .unwrap_or(Refusal::UsedUp);
        return Ok(Err(refusal));
    }
    if !store::take_user_use(conn, coupon.id, user_id, coupon.max_uses_per_user).await? {
        store::give_back_use(conn, coupon.id).await?;
        return Ok(Err(Refusal::UsedUpByUser));
    }
    Ok(Ok(Redeemed {
        coupon: coupon.clone(),
        discount: rules::discount(coupon, subtotal),
    }))
}

/// The coupon, locked until the transaction ends, read as it is now: by `id`, or by `code`
/// (any case). `None` when neither is given or there is no such coupon.
pub async fn locked<C: ConnectionTrait>(
    conn: &C,
    id: Option<i64>,
    code: Option<&str>,
) -> Result<Option<coupon::Model>, DbErr> {
    store::locked(conn, id, code).await
}

/// Makes sure `user_id` has a counter row for `coupon_id` (outside any transaction: a first
/// insert inside a redemption would cost statements and, on MySQL, could deadlock with a
/// parallel first insert). Called when a coupon is applied to a cart or named in an order.
pub async fn prepare_user(
    db: &DatabaseConnection,
    coupon_id: i64,
    user_id: i64,
) -> Result<(), DbErr> {
    store::ensure_user_row(db, coupon_id, user_id).await
}

/// Gives back the use an order took (its cancellation), in `conn`'s transaction. The caller
/// makes sure it runs once per order (the order's own status change is the guard).
pub async fn release<C: ConnectionTrait>(
    conn: &C,
    coupon_id: i64,
    user_id: i64,
) -> Result<(), DbErr> {
    store::give_back_use(conn, coupon_id).await?;
    store::give_back_user_use(conn, coupon_id, user_id).await
}
