//! The rates that apply at a destination, as the cart and the checkout ask for them: the
//! country's rates by tax class, each replaced by its region's rate of the same class.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::pricing::{Rate, Rates};
use super::rate;
use crate::cache::ResponseCache;
use crate::shipping::reach::Destination;

/// The scope of the tax rates in the cache: every write of a rate commits with it.
pub const RATES_SCOPE: &str = "tax-rates";

/// The rates at `to` by class, from the cache while no rate was written since; else one
/// statement on `conn` (a read-committed transaction or the pool).
pub async fn rates_at<C: ConnectionTrait>(
    cache: &ResponseCache,
    conn: &C,
    to: &Destination,
) -> Result<Rates, DbErr> {
    let key = format!("tax-rates\u{1f}{}\u{1f}{}", to.country, to.region_key());
    cache
        .value(key, &[RATES_SCOPE], || query_rates_at(conn, to))
        .await
}

async fn query_rates_at<C: ConnectionTrait>(conn: &C, to: &Destination) -> Result<Rates, DbErr> {
    let key = to.region_key();
    let mut keys = vec![String::new()];
    if !key.is_empty() {
        keys.push(key);
    }
    let rows = rate::Entity::find()
        .filter(rate::Column::Country.eq(to.country.as_str()))
        .filter(rate::Column::RegionKey.is_in(keys))
        .all(conn)
        .await?;
    let mut rates = Rates::new();
    // The country's rates first, so its region's replace them.
    for row in rows
        .iter()
        .filter(|r| r.region_key.is_empty())
        .chain(rows.iter().filter(|r| !r.region_key.is_empty()))
    {
        rates.insert(
            row.tax_class.clone(),
            Rate {
                name: row.name.clone(),
                rate: row.rate,
            },
        );
    }
    Ok(rates)
}
