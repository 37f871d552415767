//! The shipping queries staff use: zones with their places (areas), the methods of a zone, and
//! the lists. A place is written once per zone and checked by the unique index
//! `(country, region_key)` alone.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::{method, zone, zone_area};
use crate::db;

/// A place a zone covers, to be written: a whole country (`region` and `region_key` empty) or
/// one of its regions (as written, and the key it is matched and kept unique by).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub country: String,
    pub region: String,
    pub region_key: String,
}

/// One zone.
pub async fn zone<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<zone::Model>, DbErr> {
    zone::Entity::find_by_id(id).one(conn).await
}

/// One zone, locked until the transaction ends (two changes of one zone take turns).
pub async fn zone_locked<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<zone::Model>, DbErr> {
    zone::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await
}

/// A page of zones, newest first.
pub async fn zone_page<C: ConnectionTrait>(
    conn: &C,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<zone::Model>), DbErr> {
    db::page(
        conn,
        zone::Entity::find(),
        |q| q.order_by_desc(zone::Column::Id),
        offset,
        limit,
    )
    .await
}

/// The places of the zones `ids`, in the order they were written (by id).
pub async fn areas_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<Vec<zone_area::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    zone_area::Entity::find()
        .filter(zone_area::Column::ZoneId.is_in(ids.iter().copied()))
        .order_by_asc(zone_area::Column::Id)
        .all(conn)
        .await
}

/// Inserts a zone.
pub async fn insert_zone<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    now: DateTime<Utc>,
) -> Result<zone::Model, DbErr> {
    zone::ActiveModel {
        name: Set(name.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
}

/// Writes the changed fields of a zone.
pub async fn update_zone<C: ConnectionTrait>(
    conn: &C,
    row: zone::ActiveModel,
) -> Result<zone::Model, DbErr> {
    row.update(conn).await
}

/// Writes `places` for the zone, in their order, in one statement. A place another zone
/// holds is the unique index's violation.
pub async fn insert_places<C: ConnectionTrait>(
    conn: &C,
    zone_id: i64,
    places: &[Place],
) -> Result<(), DbErr> {
    if places.is_empty() {
        return Ok(());
    }
    let rows = places.iter().map(|place| zone_area::ActiveModel {
        zone_id: Set(zone_id),
        country: Set(place.country.clone()),
        region: Set(place.region.clone()),
        region_key: Set(place.region_key.clone()),
        ..Default::default()
    });
    zone_area::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Removes every place of the zone.
pub async fn delete_places<C: ConnectionTrait>(conn: &C, zone_id: i64) -> Result<(), DbErr> {
    zone_area::Entity::delete_many()
        .filter(zone_area::Column::ZoneId.eq(zone_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes a zone (its places and methods go with it: the foreign keys cascade); `false` when
/// there was none.
pub async fn delete_zone<C: ConnectionTrait>(conn: &C, id: i64) -> Result<bool, DbErr> {
    Ok(zone::Entity::delete_by_id(id)
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}

/// The places of other zones than `except` in `countries`: who holds what a refused write
/// wanted.
pub async fn places_in<C: ConnectionTrait>(
    conn: &C,
    countries: &[String],
    except: Option<i64>,
) -> Result<Vec<zone_area::Model>, DbErr> {
    let mut query = zone_area::Entity::find()
        .filter(zone_area::Column::Country.is_in(countries.iter().cloned()));
    if let Some(id) = except {
        query = query.filter(zone_area::Column::ZoneId.ne(id));
    }
    query.order_by_asc(zone_area::Column::Id).all(conn).await
}

/// The names of the zones `ids`.
pub async fn zone_names<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(zone::Entity::find()
        .filter(zone::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|zone| (zone.id, zone.name))
        .collect())
}

/// One method.
pub async fn method<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<method::Model>, DbErr> {
    method::Entity::find_by_id(id).one(conn).await
}

/// One method, locked until the transaction ends.
pub async fn method_locked<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<method::Model>, DbErr> {
    method::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await
}

/// A page of methods, newest first; of one zone when `zone_id` is given.
pub async fn method_page<C: ConnectionTrait>(
    conn: &C,
    zone_id: Option<i64>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<method::Model>), DbErr> {
    let mut query = method::Entity::find();
    if let Some(zone_id) = zone_id {
        query = query.filter(method::Column::ZoneId.eq(zone_id));
    }
    db::page(
        conn,
        query,
        |q| q.order_by_desc(method::Column::Id),
        offset,
        limit,
    )
    .await
}

/// Inserts a method.
pub async fn insert_method<C: ConnectionTrait>(
    conn: &C,
    row: method::ActiveModel,
) -> Result<method::Model, DbErr> {
    row.insert(conn).await
}

/// Writes the changed fields of a method.
pub async fn update_method<C: ConnectionTrait>(
    conn: &C,
    row: method::ActiveModel,
) -> Result<method::Model, DbErr> {
    row.update(conn).await
}

/// Deletes a method; `false` when there was none.
pub async fn delete_method<C: ConnectionTrait>(conn: &C, id: i64) -> Result<bool, DbErr> {
    Ok(method::Entity::delete_by_id(id)
        .exec(conn)
        .await?
        .rows_affected
        > 0)
}
