//! Tax rates with the database, for staff. One rate per country, region (whatever its case)
//! and tax class: the unique index decides, and its violation is a 400 on `tax_class`.

use sea_orm::{DatabaseConnection, DatabaseTransaction, Set};

use super::lookup::RATES_SCOPE;
use super::views::RateInput;
use super::{classes, rate, store};
use crate::cache::{Change, ResponseCache};
use crate::db;
use crate::http::error::{ApiError, not_found, unique_field_error};
use crate::shipping::reach::region_key;
use crate::time;

const TAKEN: &str = "A rate for this country, region and tax class already exists.";

/// A page of rates, newest first; of one country when `country` is given.
pub async fn list_rates(
    db: &DatabaseConnection,
    country: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<rate::Model>), ApiError> {
    Ok(store::page(db, country, offset, limit).await?)
}

/// One rate.
pub async fn get_rate(db: &DatabaseConnection, id: i64) -> Result<rate::Model, ApiError> {
    store::rate(db, id).await?.ok_or_else(not_found)
}

/// Creates a rate; a second one for the same country, region and class is a 400.
pub async fn create_rate(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    input: RateInput,
) -> Result<rate::Model, ApiError> {
    let region = input.region.flatten().unwrap_or_default();
    let now = time::now();
    let row = rate::ActiveModel {
        country: Set(input.country.unwrap_or_default()),
        region_key: Set(region_key(&region)),
        region: Set(region),
        tax_class: Set(input
            .tax_class
            .unwrap_or_else(|| classes::STANDARD.to_owned())),
        rate: Set(input.rate.unwrap_or_default()),
        name: Set(input.name.unwrap_or_default()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let tx = db::begin_write(db).await?;
    let row = store::insert(&tx, row)
        .await
        .map_err(|e| unique_field_error(e, "tax_class", TAKEN))?;
    commit(cache, tx).await?;
    Ok(row)
}

/// Commits a write of rates: cached rates are not served once it has returned.
async fn commit(cache: &ResponseCache, tx: DatabaseTransaction) -> Result<(), ApiError> {
    let mut change = Change::new();
    change.scope(RATES_SCOPE);
    Ok(cache.commit(tx, change).await?)
}

/// Changes the given fields of a rate (`region: null` makes it the whole country's).
pub async fn update_rate(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
    input: RateInput,
) -> Result<rate::Model, ApiError> {
    let tx = db::begin_write(db).await?;
    let current = store::rate_locked(&tx, id).await?.ok_or_else(not_found)?;
    let mut row: rate::ActiveModel = current.into();
    db::set_given(&mut row.country, input.country);
    if let Some(region) = input.region {
        let region = region.unwrap_or_default();
        row.region_key = Set(region_key(&region));
        row.region = Set(region);
    }
    db::set_given(&mut row.tax_class, input.tax_class);
    db::set_given(&mut row.rate, input.rate);
    db::set_given(&mut row.name, input.name);
    row.updated_at = Set(time::now());
    let row = store::update(&tx, row)
        .await
        .map_err(|e| unique_field_error(e, "tax_class", TAKEN))?;
    commit(cache, tx).await?;
    Ok(row)
}

/// Deletes a rate (placed orders keep the rate they were taxed at).
pub async fn delete_rate(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
    if !store::delete(&tx, id).await? {
        return Err(not_found());
    }
    commit(cache, tx).await
}
