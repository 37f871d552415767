//! Sizes for images stored before sizes existed: the `catalog.image_sizes` job.
//!
//! It is scheduled every hour, and so also as soon as a worker of a new version starts (a
//! worker schedules the current period's tick at once): an upgraded shop gets the sizes of its
//! old images within a minute of starting, without anyone running a command, and an image a
//! failure left without sizes gets them at a later tick. A run goes through every image without
//! sizes, oldest first, one at a time on the image gate (waiting its turn behind uploads rather
//! than being refused); there is nothing to do once all have them.
//!
//! An old image whose file is missing or does not decode within today's limits cannot have
//! sizes: its row names the original for each, which is what the API shows meanwhile anyway,
//! so that it is not tried again every hour.

use bytes::Bytes;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

use super::media::{put_files, remove_files, size_keys};
use super::product_tag;
use crate::cache::Change;
use crate::catalog::images::{self, sizes};
use crate::catalog::product_image::{self, Column};
use crate::catalog::store::touch;
use crate::db;
use crate::jobs::{Job, JobContext, JobError};
use crate::state::AppState;

/// Images read from the database at a time.
const BATCH: u64 = 50;

/// Makes the sizes of every image that has none; hourly.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MakeImageSizes {}

impl Job for MakeImageSizes {
    const KIND: &'static str = "catalog.image_sizes";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let mut after = 0;
        let mut made = 0;
        loop {
            let batch = product_image::Entity::find()
                .filter(Column::SmallKey.is_null())
                .filter(Column::Id.gt(after))
                .order_by_asc(Column::Id)
                .limit(BATCH)
                .all(&ctx.state.db)
                .await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.id;
            for image in batch {
                if make_for(&ctx.state, image).await? {
                    made += 1;
                }
            }
        }
        if made > 0 {
            tracing::info!(made, "made the sizes of images stored before sizes existed");
        }
        Ok(())
    }
}

/// Makes and records the sizes of `image`; whether it did.
async fn make_for(state: &AppState, image: product_image::Model) -> Result<bool, JobError> {
    let stored = state
        .storage
        .get(&image.storage_key)
        .await
        .map_err(JobError::retry)?;
    let Some(stored) = stored else {
        tracing::warn!(key = %image.storage_key, "an image's file is missing: no sizes");
        return keep_original(state, &image).await.map(|()| false);
    };
    let Ok(info) = images::check(&stored.bytes) else {
        tracing::warn!(key = %image.storage_key, "an image is not within the limits: no sizes");
        return keep_original(state, &image).await.map(|()| false);
    };
    let bytes = stored.bytes;
    let made = state
        .image_gate
        .run_blocking_in_turn(move || sizes::make(&bytes, info.format))
        .await
        .map_err(JobError::retry)?;
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            tracing::warn!(key = %image.storage_key, error = %e, "an image cannot be resized: no sizes");
            return keep_original(state, &image).await.map(|()| false);
        }
    };
    let keys = size_keys(&image.storage_key, made.encoding);
    let files = keys.clone().into_iter().zip(made.files.map(Bytes::from));
    put_files(&state.storage, files.collect())
        .await
        .map_err(JobError::retry)?;
    if !record(state, &image, Some(keys.clone())).await? {
        // Deleted meanwhile (its delete found no sizes to remove), or sized by another run
        // under the same keys: only in the first case are the files nobody's.
        let exists = product_image::Entity::find_by_id(image.id)
            .one(&state.db)
            .await?
            .is_some();
        if !exists {
            remove_files(&state.storage, &keys).await;
        }
        return Ok(false);
    }
    Ok(true)
}

/// Records the original as each size of an image that cannot have sizes.
async fn keep_original(state: &AppState, image: &product_image::Model) -> Result<(), JobError> {
    record(state, image, None).await.map(|_| ())
}

/// Sets the size keys of `image` if it has none yet (`None`: its own key for each), moving its
/// product's version on so that cached responses show them; whether the row was changed.
async fn record(
    state: &AppState,
    image: &product_image::Model,
    keys: Option<[String; 3]>,
) -> Result<bool, JobError> {
    let [small, medium, large] = keys.unwrap_or_else(|| {
        let key = &image.storage_key;
        [key.clone(), key.clone(), key.clone()]
    });
    let tx = db::begin_write(&state.db).await?;
    let changed = product_image::Entity::update_many()
        .col_expr(Column::SmallKey, Expr::value(small))
        .col_expr(Column::MediumKey, Expr::value(medium))
        .col_expr(Column::LargeKey, Expr::value(large))
        .filter(Column::Id.eq(image.id))
        .filter(Column::SmallKey.is_null())
        .exec(&tx)
        .await?
        .rows_affected
        > 0;
    let mut change = Change::new();
    if changed {
        match touch(&tx, image.product_id).await {
            Ok(version) => {
                change.row(product_tag(image.product_id), version);
            }
            // The product is being deleted with its images: nothing to show.
            Err(DbErr::RecordNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    state
        .cache
        .commit(tx, change)
        .await
        .map_err(JobError::retry)?;
    Ok(changed)
}
