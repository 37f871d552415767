//! Where the shop ships, as the cart and the checkout ask it: the zone that reaches a
//! destination (a zone narrowed to the destination's region wins over a whole-country zone),
//! its active methods, and whether the shop has any method at all (a shop with none ships
//! free).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::{method, zone_area};
use crate::cache::ResponseCache;

/// A destination: an address's country and its `state` as the region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    /// ISO 3166 alpha-2.
    pub country: String,
    /// The region as written in the address (matched whatever the case).
    pub region: String,
}

impl Destination {
    /// The key regions are matched by (see [`region_key`]).
    pub fn region_key(&self) -> String {
        region_key(&self.region)
    }
}

/// How a region is matched: trimmed, lower-cased and in Unicode's composed form (NFC), so
/// `Québec` typed with a combining accent (as some keyboards send it) is the same region.
pub fn region_key(region: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    region.trim().to_lowercase().nfc().collect()
}

/// The scope of zones, their places and methods in the cache: every write of one commits
/// with it.
pub const SHIPPING_SCOPE: &str = "shipping";

/// The zone that reaches `to`, if any: the one narrowed to its region, else the one that
/// covers its whole country. From the cache while nothing of shipping was written since; else
/// one statement on `conn` (a read-committed transaction or the pool).
pub async fn zone_for<C: ConnectionTrait>(
    cache: &ResponseCache,
    conn: &C,
    to: &Destination,
) -> Result<Option<i64>, DbErr> {
    let key = format!("shipping-zone\u{1f}{}\u{1f}{}", to.country, to.region_key());
    cache
        .value(key, &[SHIPPING_SCOPE], || query_zone_for(conn, to))
        .await
}

async fn query_zone_for<C: ConnectionTrait>(
    conn: &C,
    to: &Destination,
) -> Result<Option<i64>, DbErr> {
    let key = to.region_key();
    let mut keys = vec![String::new()];
    if !key.is_empty() {
        keys.push(key);
    }
    let areas = zone_area::Entity::find()
        .filter(zone_area::Column::Country.eq(to.country.as_str()))
        .filter(zone_area::Column::RegionKey.is_in(keys))
        .all(conn)
        .await?;
    // The narrowed zone first: it wins for its regions.
    Ok(areas
        .iter()
        .find(|a| !a.region_key.is_empty())
        .or_else(|| areas.first())
        .map(|a| a.zone_id))
}

/// The active methods of the zone that reaches `to` (none when no zone does), by id.
pub async fn methods_reaching<C: ConnectionTrait>(
    conn: &C,
    to: &Destination,
) -> Result<Vec<method::Model>, DbErr> {
    let Some(zone_id) = query_zone_for(conn, to).await? else {
        return Ok(Vec::new());
    };
    method::Entity::find()
        .filter(method::Column::ZoneId.eq(zone_id))
        .filter(method::Column::IsActive.eq(true))
        .order_by_asc(method::Column::Id)
        .all(conn)
        .await
}

/// One method, active or not.
pub async fn method<C: ConnectionTrait>(
    cache: &ResponseCache,
    conn: &C,
    id: i64,
) -> Result<Option<method::Model>, DbErr> {
    let key = format!("shipping-method\u{1f}{id}");
    cache
        .value(key, &[SHIPPING_SCOPE], || {
            method::Entity::find_by_id(id).one(conn)
        })
        .await
}

/// Whether the shop has at least one active method (else it ships free, everywhere).
pub async fn ships_with_methods<C: ConnectionTrait>(
    cache: &ResponseCache,
    conn: &C,
) -> Result<bool, DbErr> {
    let build = || async {
        Ok(method::Entity::find()
            .filter(method::Column::IsActive.eq(true))
            .one(conn)
            .await?
            .is_some())
    };
    cache
        .value("shipping-any".to_owned(), &[SHIPPING_SCOPE], build)
        .await
}
