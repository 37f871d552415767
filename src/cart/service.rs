//! Cart rules: lines added, changed and removed under the cart's row lock (so two parallel adds
//! of one product make one line with both quantities), quantities checked against the stock
//! and the limits, prices always read from the catalog, and the coupon checked again on every
//! read.

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};

use super::{shopping_cart, store};

pub use super::priced::{PricedCart, PricedLine, read};
pub use super::quote::{
    Dropped, NO_ZONE, Quote, Shipping, TaxRules, destination, line as pricing_line, quote,
};
pub use super::store::CartLine;
use crate::cache::ResponseCache;
use crate::catalog::lookups::{self, Pick};
use crate::catalog::{product, variant};
use crate::coupons::rules::Refusal;
use crate::coupons::service as coupons;
use crate::db;
use crate::http::error::{ApiError, field_error};
use crate::money::Currency;
use crate::settings::CartSettings;
use crate::throttle::Limiter;
use crate::time;

/// Largest amount one line may come to, in minor units: with at most 1,000 lines a cart's
/// subtotal stays inside 64 bits whatever the prices do.
pub const MAX_LINE_AMOUNT: i128 = 1_000_000_000_000_000;

const UNKNOWN_PRODUCT: &str = "Unknown or unavailable product.";
const UNKNOWN_VARIANT: &str = "Unknown or unavailable variant.";
const CHOOSE_VARIANT: &str = "Choose one of this product's variants.";
const NOT_IN_CART: &str = "Product not in cart.";

/// The user's cart, locked until the returned transaction ends; created first if the user has
/// none (outside the transaction — see [`store::create_cart`]).
pub(super) async fn locked(
    db: &DatabaseConnection,
    user_id: i64,
) -> Result<(DatabaseTransaction, shopping_cart::Model), ApiError> {
    // A few tries: the clean-up job may delete an idle cart between the two steps.
    for _ in 0..3 {
        let tx = db::begin_write(db).await?;
        if let Some(cart) = store::locked_cart(&tx, user_id).await? {
            return Ok((tx, cart));
        }
        tx.rollback().await?;
        store::create_cart(db, user_id, time::now()).await?;
    }
    Err(ApiError::Unavailable(
        "the cart could not be created".to_owned(),
    ))
}

/// What a request names: a variant, or the product of a single-variant product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub product_id: Option<i64>,
    pub variant_id: Option<i64>,
}

/// Why `quantity` of `variant` cannot be in a cart, if it cannot.
fn quantity_problem(
    variant: &variant::Model,
    quantity: i64,
    limits: &CartSettings,
) -> Option<String> {
    if quantity > limits.max_quantity {
        return Some(format!(
            "Ensure this value is less than or equal to {}.",
            limits.max_quantity
        ));
    }
    if quantity > variant.stock {
        return Some(stock_message(variant.stock));
    }
    let amount = i128::from(variant.price) * i128::from(quantity);
    (amount > MAX_LINE_AMOUNT).then(|| "This line's amount is too large.".to_owned())
}

pub(super) fn stock_message(stock: i64) -> String {
    if stock <= 0 {
        "This product is out of stock.".to_owned()
    } else {
        format!("Only {stock} left in stock.")
    }
}

/// Where a target that names nothing sellable is reported: under `variant_id` when one was
/// given, else `product_id`.
fn unknown(target: Target) -> ApiError {
    if target.variant_id.is_some() {
        field_error("variant_id", UNKNOWN_VARIANT)
    } else {
        field_error("product_id", UNKNOWN_PRODUCT)
    }
}

/// The product and variant a request names, whether or not they can be bought; an unknown
/// one → `Err(None)`, a product with several variants and none named → 400 on `variant_id`.
async fn resolve(
    tx: &DatabaseTransaction,
    target: Target,
) -> Result<Result<(product::Model, variant::Model), Option<ApiError>>, ApiError> {
    Ok(named(
        lookups::pick(tx, target.product_id, target.variant_id).await?,
    ))
}

/// What a pick names, as `resolve` answers it.
fn named(pick: Pick) -> Result<(product::Model, variant::Model), Option<ApiError>> {
    match pick {
        Pick::Found(found) => Ok(*found),
        Pick::ChooseVariant => Err(Some(field_error("variant_id", CHOOSE_VARIANT))),
        Pick::UnknownProduct | Pick::UnknownVariant => Err(None),
    }
}

/// The product and variant a request names if they can be bought now (both active); else a
/// 400 on the field that named them.
fn buyable(
    named: Result<(product::Model, variant::Model), Option<ApiError>>,
    target: Target,
) -> Result<(product::Model, variant::Model), ApiError> {
    match named {
        Ok((product, variant)) if product.is_active && variant.is_active => Ok((product, variant)),
        Ok(_) | Err(None) => Err(unknown(target)),
        Err(Some(error)) => Err(error),
    }
}

async fn sellable(
    tx: &DatabaseTransaction,
    target: Target,
) -> Result<(product::Model, variant::Model), ApiError> {
    buyable(resolve(tx, target).await?, target)
}

/// The variant of a line a request names (bought or not); 404 when it cannot be in the cart.
async fn named_line(tx: &DatabaseTransaction, target: Target) -> Result<variant::Model, ApiError> {
    match resolve(tx, target).await? {
        Ok((_, variant)) => Ok(variant),
        Err(None) => Err(ApiError::NotFound(NOT_IN_CART.to_owned())),
        Err(Some(error)) => Err(error),
    }
}

/// Adds `quantity` of a variant to the user's cart, on top of what is there.
pub async fn add(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    limits: &CartSettings,
    user_id: i64,
    target: Target,
    quantity: i64,
) -> Result<(), ApiError> {
    if quantity > limits.max_quantity {
        return Err(field_error(
            "quantity",
            format!(
                "Ensure this value is less than or equal to {}.",
                limits.max_quantity
            ),
        ));
    }
    // What is added, from the catalog's cache, before the cart is locked: as fresh as a read in
    // the transaction (a product deleted meanwhile fails the line's foreign key below).
    let picked = lookups::pick_for_sale(cache, db, target.product_id, target.variant_id).await?;
    let (product, variant) = buyable(named(picked), target)?;
    let (tx, cart) = locked(db, user_id).await?;
    // Every line in one statement: the one of this variant, and how many there are.
    let items = store::items(&tx, cart.id).await?;
    let lines = items.len();
    let line = items.into_iter().find(|item| item.variant_id == variant.id);
    let total = line
        .as_ref()
        .map_or(0, |l| l.quantity)
        .saturating_add(quantity);
    if let Some(problem) = quantity_problem(&variant, total, limits) {
        return Err(field_error("quantity", problem));
    }
    let now = time::now();
    match line {
        Some(line) => store::set_quantity(&tx, line.id, total).await?,
        None => {
            if u64::try_from(lines).unwrap_or(u64::MAX) >= limits.max_lines {
                return Err(field_error(
                    "product_id",
                    format!(
                        "A cart holds at most {} different products.",
                        limits.max_lines
                    ),
                ));
            }
            // A variant deleted after it was read: as unknown as one that never was.
            store::insert_line(&tx, cart.id, (product.id, variant.id), total, now)
                .await
                .map_err(|e| {
                    if db::is_foreign_key_violation(&e) {
                        unknown(target)
                    } else {
                        e.into()
                    }
                })?;
        }
    }
    store::touch(&tx, cart.id, None, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets the quantity of a variant already in the cart; 0 removes the line.
pub async fn update(
    db: &DatabaseConnection,
    limits: &CartSettings,
    user_id: i64,
    target: Target,
    quantity: i64,
) -> Result<(), ApiError> {
    if quantity == 0 {
        return remove(db, user_id, target).await;
    }
    let (tx, cart) = locked(db, user_id).await?;
    let named = named_line(&tx, target).await?;
    let line = store::line(&tx, cart.id, named.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(NOT_IN_CART.to_owned()))?;
    let (_, variant) = sellable(&tx, target).await?;
    if let Some(problem) = quantity_problem(&variant, quantity, limits) {
        return Err(field_error("quantity", problem));
    }
    store::set_quantity(&tx, line.id, quantity).await?;
    store::touch(&tx, cart.id, None, time::now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a variant's line from the cart.
pub async fn remove(db: &DatabaseConnection, user_id: i64, target: Target) -> Result<(), ApiError> {
    let (tx, cart) = locked(db, user_id).await?;
    let named = named_line(&tx, target).await?;
    if !store::delete_line(&tx, cart.id, named.id).await? {
        return Err(ApiError::NotFound(NOT_IN_CART.to_owned()));
    }
    store::touch(&tx, cart.id, None, time::now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Applies the coupon called `code` (any case) to the user's cart if it applies now to what
/// the cart holds; else 400 under `code` saying why. Every attempt is counted against
/// `failures` first and a successful one given back, so codes cannot be guessed by trying
/// them faster than the limit.
pub async fn apply_coupon(
    db: &DatabaseConnection,
    failures: Option<CouponFailures<'_>>,
    currency: Currency,
    user_id: i64,
    code: &str,
) -> Result<(), ApiError> {
    let keys = failures.as_ref().map(|f| f.keys(user_id));
    if let (Some(failures), Some(keys)) = (&failures, &keys) {
        failures.admit(keys).await?;
    }
    let (tx, cart) = locked(db, user_id).await?;
    let now = time::now();
    let lines = store::lines(&tx, cart.id).await?;
    let subtotal =
        super::priced::price_lines(lines.into_iter().map(|line| (line, Vec::new())).collect())
            .subtotal;
    let coupon = match coupons::usable_by_code(&tx, code, user_id, subtotal, now).await? {
        Ok(coupon) => coupon,
        Err(refusal) => return Err(coupons::refused(&refusal, currency)),
    };
    // A coupon deleted after it was read is as unknown as one that never was.
    store::touch(&tx, cart.id, Some(Some(coupon.id)), now)
        .await
        .map_err(|e| {
            if db::is_foreign_key_violation(&e) {
                coupons::refused(&Refusal::Unknown, currency)
            } else {
                e.into()
            }
        })?;
    tx.commit().await?;
    coupons::prepare_user(db, coupon.id, user_id).await?;
    if let (Some(failures), Some(keys)) = (&failures, &keys) {
        failures.undo(keys).await?;
    }
    Ok(())
}

/// The count of coupon codes that did not apply: per user at the rate, per client address at
/// [`ADDRESS_FACTOR`] times it (free accounts from one address do not multiply the guesses).
pub struct CouponFailures<'a> {
    pub limiter: Limiter<'a>,
    /// The client's address as throttles count it.
    pub client: String,
}

/// How many more failed codes one client address may try than one user.
pub const ADDRESS_FACTOR: u64 = 5;

impl CouponFailures<'_> {
    fn keys(&self, user_id: i64) -> [String; 2] {
        [
            format!("coupon:user:{user_id}"),
            format!("coupon:client:{}", self.client),
        ]
    }

    async fn admit(&self, keys: &[String; 2]) -> Result<(), ApiError> {
        self.limiter.admit(&keys[0]).await?;
        let per_address = Limiter {
            store: self.limiter.store,
            rate: crate::throttle::Rate {
                limit: self.limiter.rate.limit.saturating_mul(ADDRESS_FACTOR),
                period: self.limiter.rate.period,
            },
        };
        if let Err(e) = per_address.admit(&keys[1]).await {
            // Refused by the address: this attempt does not count against the user.
            self.limiter.undo(&keys[0]).await?;
            return Err(e.into());
        }
        Ok(())
    }

    async fn undo(&self, keys: &[String; 2]) -> Result<(), ApiError> {
        self.limiter.undo(&keys[0]).await?;
        Ok(self.limiter.undo(&keys[1]).await?)
    }
}

/// Takes the coupon off the user's cart.
pub async fn remove_coupon(db: &DatabaseConnection, user_id: i64) -> Result<(), ApiError> {
    let (tx, cart) = locked(db, user_id).await?;
    store::touch(&tx, cart.id, Some(None), time::now()).await?;
    tx.commit().await?;
    Ok(())
}

/// A user's cart as a checkout takes it: locked until the transaction ends, with its lines and
/// each line's product as the catalog has it now.
pub struct CheckoutCart {
    /// The cart's id (to empty it once the order is written).
    pub id: i64,
    /// The coupon applied to it, if any.
    pub coupon_id: Option<i64>,
    /// The shipping address and method chosen on the cart, if any.
    pub shipping_address: Option<crate::accounts::postal::ShippingAddress>,
    pub shipping_method_id: Option<i64>,
    /// When it last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Its lines in the order they were added, with their products and variants.
    pub lines: Vec<CartLine>,
}

/// Locks the user's cart on `tx` for a checkout (`None`: they have none) and reads its lines.
pub async fn lock_for_checkout(
    tx: &DatabaseTransaction,
    user_id: i64,
) -> Result<Option<CheckoutCart>, DbErr> {
    let Some(cart) = store::locked_cart(tx, user_id).await? else {
        return Ok(None);
    };
    let lines = store::lines(tx, cart.id).await?;
    Ok(Some(CheckoutCart {
        id: cart.id,
        coupon_id: cart.coupon_id,
        shipping_address: cart
            .shipping_address
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok()),
        shipping_method_id: cart.shipping_method_id,
        updated_at: cart.updated_at,
        lines,
    }))
}

/// Empties the cart in `tx`: an order took its lines, coupon and shipping choice.
pub async fn empty(
    tx: &DatabaseTransaction,
    cart_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    store::empty_cart(tx, cart_id, now).await
}
