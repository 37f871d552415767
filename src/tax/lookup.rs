//! The rates that apply at a destination, as the cart and the checkout ask for them: the
//! country's rates by tax class, each replaced by its region's rate of the same class.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::pricing::{Rate, Rates};
use super::rate;
use crate::shipping::reach::Destination;

/// The rates at `to` by class. One statement.
pub async fn rates_at<C: ConnectionTrait>(conn: &C, to: &Destination) -> Result<Rates, DbErr> {
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
