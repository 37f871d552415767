//! Shipping rules with the database, for staff: zones and the places they cover, methods and
//! their prices.
//!
//! A place (a whole country, or one region of it) belongs to one zone at most, and the unique
//! index `(country, region_key)` alone decides it: a zone's places are inserted, never looked
//! up first, and a violation becomes a 400 naming the place and the zone that holds it (read
//! after the write was rolled back). A zone and its places are written in one transaction, so a
//! refused request changes nothing; a write the database broke off for a deadlock (two zones
//! written at once, taking the same countries in another order) is tried again.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, Set};

use super::reach::{SHIPPING_SCOPE, region_key};
use super::store::{self, Place};
use super::views::ZoneInput;
use super::{zone, zone_area};
use crate::cache::{CacheError, Change, ResponseCache};
use crate::db;
use crate::http::error::{ApiError, FieldErrors, field_error, not_found};
use crate::time;

pub use super::methods::{create_method, delete_method, get_method, list_methods, update_method};

/// Most places (countries covered whole, and regions) one zone may have.
pub const PLACES_MAX: usize = 2_000;

/// How many times a write broken off by a deadlock is tried in all.
const ATTEMPTS: u32 = 3;

/// A zone with its places, in the order they were given.
pub type ZoneWithAreas = (zone::Model, Vec<zone_area::Model>);

/// What one attempt at writing a zone came to.
enum Outcome {
    Written(ZoneWithAreas),
    /// Another zone holds one of the places; nothing was written.
    Taken(Vec<Place>),
    /// The request is wrong (or the zone is gone); nothing was written.
    Refused(ApiError),
}

/// A page of zones, newest first, each with its places.
pub async fn list_zones(
    db: &DatabaseConnection,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<ZoneWithAreas>), ApiError> {
    let (count, zones) = store::zone_page(db, offset, limit).await?;
    let ids: Vec<i64> = zones.iter().map(|z| z.id).collect();
    let mut by_zone: HashMap<i64, Vec<zone_area::Model>> = HashMap::new();
    for area in store::areas_of(db, &ids).await? {
        by_zone.entry(area.zone_id).or_default().push(area);
    }
    let rows = zones
        .into_iter()
        .map(|zone| {
            let areas = by_zone.remove(&zone.id).unwrap_or_default();
            (zone, areas)
        })
        .collect();
    Ok((count, rows))
}

/// One zone with its places.
pub async fn get_zone(db: &DatabaseConnection, id: i64) -> Result<ZoneWithAreas, ApiError> {
    let zone = store::zone(db, id).await?.ok_or_else(not_found)?;
    let areas = store::areas_of(db, &[id]).await?;
    Ok((zone, areas))
}

/// The countries of stored places, in their order.
fn countries_of(areas: &[zone_area::Model]) -> Vec<String> {
    let mut countries: Vec<String> = Vec::new();
    for area in areas {
        if !countries.contains(&area.country) {
            countries.push(area.country.clone());
        }
    }
    countries
}

/// The regions of stored areas, per country, as staff wrote them.
fn regions_of(areas: &[zone_area::Model]) -> BTreeMap<String, Vec<String>> {
    let mut regions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for area in areas.iter().filter(|a| !a.region.is_empty()) {
        regions
            .entry(area.country.clone())
            .or_default()
            .push(area.region.clone());
    }
    regions
}

/// The places to write for `countries`, each narrowed to its `regions` when it has some; every
/// country of `regions` must be one of `countries`.
fn places(
    countries: &[String],
    regions: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Place>, ApiError> {
    let mut errors = FieldErrors::new();
    for country in regions.keys().filter(|c| !countries.contains(c)) {
        errors.add(
            "regions",
            format!("\"{country}\" is not one of the zone's countries."),
        );
    }
    errors.into_result()?;
    let mut places = Vec::new();
    for country in countries {
        match regions.get(country) {
            Some(list) => places.extend(list.iter().map(|region| Place {
                country: country.clone(),
                region: region.clone(),
                region_key: region_key(region),
            })),
            None => places.push(Place {
                country: country.clone(),
                region: String::new(),
                region_key: String::new(),
            }),
        }
    }
    if places.len() > PLACES_MAX {
        return Err(field_error(
            "regions",
            format!("A zone covers at most {PLACES_MAX} countries and regions."),
        ));
    }
    Ok(places)
}

/// The 400 for `places` some other zone than `except` holds: each place taken, under
/// `countries` (a whole country) or `regions`, naming the zone that holds it.
async fn taken(
    db: &DatabaseConnection,
    places: &[Place],
    except: Option<i64>,
) -> Result<ApiError, ApiError> {
    let mut countries: Vec<String> = places.iter().map(|p| p.country.clone()).collect();
    countries.dedup();
    let held = store::places_in(db, &countries, except).await?;
    let mut ids: Vec<i64> = held.iter().map(|a| a.zone_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = store::zone_names(db, &ids).await?;
    let mut errors = FieldErrors::new();
    for place in places {
        let Some(holder) = held
            .iter()
            .find(|a| a.country == place.country && a.region_key == place.region_key)
        else {
            continue;
        };
        let name = names.get(&holder.zone_id).map_or("", String::as_str);
        let zone = format!("the zone \"{name}\" (id {})", holder.zone_id);
        if place.region_key.is_empty() {
            errors.add(
                "countries",
                format!("{} is already in {zone}.", place.country),
            );
        } else {
            errors.add(
                "regions",
                format!("{} ({}) is already in {zone}.", place.region, place.country),
            );
        }
    }
    if errors.is_empty() {
        // The holder was deleted since: say what happened all the same.
        errors.add(
            "countries",
            "A country or region of this zone is already in another zone.",
        );
    }
    Ok(ApiError::Validation(errors))
}

/// Whether an attempt that came to `result` is tried again: it was broken off by a deadlock,
/// and fewer than [`ATTEMPTS`] were made.
fn again(result: &Result<Outcome, CacheError>, tries: u32) -> bool {
    matches!(result, Err(CacheError::Database(e)) if db::is_contention(e)) && tries < ATTEMPTS
}

/// The answer to the last attempt: the zone, or the 400 of the places another zone than
/// `except` holds, or the refusal.
async fn answer(
    db: &DatabaseConnection,
    except: Option<i64>,
    result: Result<Outcome, CacheError>,
) -> Result<ZoneWithAreas, ApiError> {
    match result? {
        Outcome::Written(zone) => Ok(zone),
        Outcome::Taken(places) => Err(taken(db, &places, except).await?),
        Outcome::Refused(error) => Err(error),
    }
}

/// Inserts `places` for the zone in `tx` and hands `tx` back; `None` (and `tx` rolled back, as
/// PostgreSQL requires after a failed statement) when another zone holds one of them.
async fn insert_places(
    tx: sea_orm::DatabaseTransaction,
    zone_id: i64,
    places: &[Place],
) -> Result<Option<sea_orm::DatabaseTransaction>, DbErr> {
    match store::insert_places(&tx, zone_id, places).await {
        Ok(()) => Ok(Some(tx)),
        Err(e) if db::is_unique_violation(&e) => {
            tx.rollback().await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Creates a zone with its places; a place another zone holds is a 400 and nothing is stored.
pub async fn create_zone(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    input: ZoneInput,
) -> Result<ZoneWithAreas, ApiError> {
    let name = input.name.unwrap_or_default();
    let countries = input.countries.unwrap_or_default();
    let places = places(&countries, &input.regions.unwrap_or_default())?;
    let mut tries = 0;
    loop {
        tries += 1;
        let result = create_once(db, cache, &name, &places).await;
        if !again(&result, tries) {
            return answer(db, None, result).await;
        }
    }
}

async fn create_once(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    name: &str,
    places: &[Place],
) -> Result<Outcome, CacheError> {
    // Read committed on MySQL: nothing here is read by a range, and gap locks would only make
    // parallel writers deadlock.
    let tx = db::begin_write_committed(db).await?;
    let zone = store::insert_zone(&tx, name, time::now()).await?;
    let Some(tx) = insert_places(tx, zone.id, places).await? else {
        return Ok(Outcome::Taken(places.to_vec()));
    };
    let areas = store::areas_of(&tx, &[zone.id]).await?;
    commit(cache, tx).await?;
    Ok(Outcome::Written((zone, areas)))
}

/// Changes the given fields of a zone. `countries` or `regions` replace all its places
/// (`countries` alone covers each whole; `regions` alone narrows its current countries); a
/// place another zone holds is a 400 and nothing changes.
pub async fn update_zone(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
    input: ZoneInput,
) -> Result<ZoneWithAreas, ApiError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let result = update_once(db, cache, id, &input).await;
        if !again(&result, tries) {
            return answer(db, Some(id), result).await;
        }
    }
}

async fn update_once(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
    input: &ZoneInput,
) -> Result<Outcome, CacheError> {
    // Read committed on MySQL: the zone's row is locked, so its places cannot change under
    // this transaction, and reading them by the zone's index must not lock the index's gaps.
    let tx = db::begin_write_committed(db).await?;
    let Some(current) = store::zone_locked(&tx, id).await? else {
        return Ok(Outcome::Refused(not_found()));
    };
    let mut new_places = None;
    if input.countries.is_some() || input.regions.is_some() {
        // What is not given stays as it is: new countries keep the zone's regions, which must
        // then be among them (as a creation's must).
        let areas = store::areas_of(&tx, &[id]).await?;
        let countries = match &input.countries {
            Some(countries) => countries.clone(),
            None => countries_of(&areas),
        };
        let regions = match &input.regions {
            Some(regions) => regions.clone(),
            None => regions_of(&areas),
        };
        match places(&countries, &regions) {
            Ok(list) => new_places = Some(list),
            Err(refused) => return Ok(Outcome::Refused(refused)),
        }
    }
    let mut row: zone::ActiveModel = current.into();
    db::set_given(&mut row.name, input.name.clone());
    row.updated_at = Set(time::now());
    let zone = store::update_zone(&tx, row).await?;
    let mut tx = tx;
    if let Some(places) = new_places {
        store::delete_places(&tx, id).await?;
        match insert_places(tx, id, &places).await? {
            Some(open) => tx = open,
            None => return Ok(Outcome::Taken(places)),
        }
    }
    let areas = store::areas_of(&tx, &[id]).await?;
    commit(cache, tx).await?;
    Ok(Outcome::Written((zone, areas)))
}

/// Deletes a zone, its places and its methods.
pub async fn delete_zone(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
    if !store::delete_zone(&tx, id).await? {
        return Err(not_found());
    }
    Ok(commit(cache, tx).await?)
}

/// Commits a write of zones, places or methods: what the cache keeps of them (the zone that
/// reaches a destination, a method) is not served once it has returned.
pub(super) async fn commit(
    cache: &ResponseCache,
    tx: DatabaseTransaction,
) -> Result<(), CacheError> {
    let mut change = Change::new();
    change.scope(SHIPPING_SCOPE);
    cache.commit(tx, change).await
}
