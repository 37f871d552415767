//! Shipping methods with the database, for staff: a method's kind with its price or weight
//! bands, its delivery estimate and tax class, checked across fields and against the stored
//! row; a zone deleted meanwhile is caught by the foreign key.

use sea_orm::{DatabaseConnection, DbErr, Set};

use super::method::{self, MethodKind};
use super::rules::store_bands;
use super::service::commit;
use super::store;
use super::views::MethodInput;
use crate::cache::ResponseCache;
use crate::db;
use crate::http::error::{ApiError, FieldErrors, field_error, not_found};
use crate::money::Money;
use crate::tax::classes;
use crate::time;

/// A page of methods, newest first; of one zone when `zone_id` is given.
pub async fn list_methods(
    db: &DatabaseConnection,
    zone_id: Option<i64>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<method::Model>), ApiError> {
    Ok(store::method_page(db, zone_id, offset, limit).await?)
}

/// One method.
pub async fn get_method(db: &DatabaseConnection, id: i64) -> Result<method::Model, ApiError> {
    store::method(db, id).await?.ok_or_else(not_found)
}

/// A method's kind and what it is priced by, and its delivery estimate, after a change to
/// `current` (or of a new method): every rule that spans fields.
struct Checked {
    kind: MethodKind,
    price: Option<i64>,
    rates: Option<String>,
    min_days: Option<i64>,
    max_days: Option<i64>,
}

fn checked(input: &MethodInput, current: Option<&method::Model>) -> Result<Checked, ApiError> {
    let mut errors = FieldErrors::new();
    let kind = input
        .kind
        .or(current.map(|c| c.kind))
        .unwrap_or(MethodKind::Flat);
    // The stored price or bands still apply when the kind stays as it was.
    let kept = current.filter(|c| c.kind == kind);
    let missing = |what: &str| {
        if current.is_some() {
            format!("Give the {what} with the kind.")
        } else {
            "This field is required.".to_owned()
        }
    };
    let (mut price, mut rates) = (None, None);
    match kind {
        MethodKind::Flat => {
            match (input.price, kept.and_then(|c| c.price)) {
                (Some(Some(given)), _) => price = Some(given.minor()),
                (Some(None), _) => errors.add("price", "A flat method needs a price."),
                (None, Some(stored)) => price = Some(stored),
                (None, None) => errors.add("price", missing("price")),
            }
            if matches!(input.rates, Some(Some(_))) {
                errors.add("rates", "Only a weight method has rates.");
            }
        }
        MethodKind::Weight => {
            match (&input.rates, kept.and_then(|c| c.rates.clone())) {
                (Some(Some(bands)), _) => rates = Some(store_bands(bands)),
                (Some(None), _) => errors.add("rates", "A weight method needs rates."),
                (None, Some(stored)) => rates = Some(stored),
                (None, None) => errors.add("rates", missing("rates")),
            }
            if matches!(input.price, Some(Some(_))) {
                errors.add("price", "Only a flat method has a price.");
            }
        }
    }
    let min_days = input
        .min_days
        .unwrap_or_else(|| current.and_then(|c| c.min_days));
    let max_days = input
        .max_days
        .unwrap_or_else(|| current.and_then(|c| c.max_days));
    if let (Some(min), Some(max)) = (min_days, max_days)
        && max < min
    {
        errors.add(
            "max_days",
            format!("Ensure this value is greater than or equal to min_days ({min})."),
        );
    }
    errors.into_result()?;
    Ok(Checked {
        kind,
        price,
        rates,
        min_days,
        max_days,
    })
}

/// DRF's message for a zone id that names no zone.
fn no_zone_message(id: i64) -> String {
    format!("Invalid pk \"{id}\" - object does not exist.")
}

/// The 400 for a zone id that names no zone.
fn no_zone(id: i64) -> ApiError {
    field_error("zone", no_zone_message(id))
}

/// `checked` with a missing zone (`missing`: the id given that names none) added to its
/// problems, so that every problem is reported at once.
fn with_zone(
    checked: Result<Checked, ApiError>,
    missing: Option<i64>,
) -> Result<Checked, ApiError> {
    let Some(id) = missing else {
        return checked;
    };
    match checked {
        Err(ApiError::Validation(mut errors)) => {
            errors.add("zone", no_zone_message(id));
            Err(ApiError::Validation(errors))
        }
        Err(other) => Err(other),
        Ok(_) => Err(no_zone(id)),
    }
}

/// `error` as the 400 on `zone` when the zone it points at is missing (deleted meanwhile).
fn zone_gone(error: DbErr, id: i64) -> ApiError {
    if db::is_foreign_key_violation(&error) {
        no_zone(id)
    } else {
        error.into()
    }
}

/// Creates a method of an existing zone.
pub async fn create_method(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    input: MethodInput,
) -> Result<method::Model, ApiError> {
    let zone_id = input.zone.unwrap_or_default();
    let missing = store::zone(db, zone_id).await?.is_none().then_some(zone_id);
    let checked = with_zone(checked(&input, None), missing)?;
    let now = time::now();
    let row = method::ActiveModel {
        zone_id: Set(zone_id),
        name: Set(input.name.unwrap_or_default()),
        kind: Set(checked.kind),
        price: Set(checked.price),
        rates: Set(checked.rates),
        free_over: Set(input.free_over.flatten().map(Money::minor)),
        min_days: Set(checked.min_days),
        max_days: Set(checked.max_days),
        is_active: Set(input.is_active.unwrap_or(true)),
        tax_class: Set(input
            .tax_class
            .unwrap_or_else(|| classes::STANDARD.to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    // The zone may have been deleted since it was read: the foreign key says so.
    let tx = db::begin_write(db).await?;
    let row = store::insert_method(&tx, row)
        .await
        .map_err(|e| zone_gone(e, zone_id))?;
    commit(cache, tx).await?;
    Ok(row)
}

/// Changes the given fields of a method; a new kind comes with its price or rates, and the
/// other is cleared.
pub async fn update_method(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
    input: MethodInput,
) -> Result<method::Model, ApiError> {
    let tx = db::begin_write(db).await?;
    let current = store::method_locked(&tx, id).await?.ok_or_else(not_found)?;
    let missing = match input.zone {
        Some(zone_id) => store::zone(&tx, zone_id)
            .await?
            .is_none()
            .then_some(zone_id),
        None => None,
    };
    let checked = with_zone(checked(&input, Some(&current)), missing)?;
    let mut row: method::ActiveModel = current.into();
    db::set_given(&mut row.zone_id, input.zone);
    db::set_given(&mut row.name, input.name);
    row.kind = Set(checked.kind);
    row.price = Set(checked.price);
    row.rates = Set(checked.rates);
    db::set_given(
        &mut row.free_over,
        input.free_over.map(|m| m.map(Money::minor)),
    );
    row.min_days = Set(checked.min_days);
    row.max_days = Set(checked.max_days);
    db::set_given(&mut row.is_active, input.is_active);
    db::set_given(&mut row.tax_class, input.tax_class);
    row.updated_at = Set(time::now());
    let zone_id = input.zone.unwrap_or_default();
    let row = store::update_method(&tx, row)
        .await
        .map_err(|e| zone_gone(e, zone_id))?;
    commit(cache, tx).await?;
    Ok(row)
}

/// Deletes a method (a cart that chose it finds it gone on its next read).
pub async fn delete_method(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
    if !store::delete_method(&tx, id).await? {
        return Err(not_found());
    }
    Ok(commit(cache, tx).await?)
}
