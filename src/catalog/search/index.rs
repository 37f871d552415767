//! The write side of search: a product's words go into the index in the transaction that
//! writes the product, and the whole index is rebuilt when the stemming language changes.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};

use crate::catalog::product;
use crate::db::{self, sql::Sql};
use crate::text::{Language, Stems, product_words};

/// Weight of a word in a product's name; one only in its description weighs 1.
pub const NAME_WEIGHT: i16 = 2;
pub const DESCRIPTION_WEIGHT: i16 = 1;

/// Rows written by one statement (three values each, well under every engine's limit).
const ROWS_PER_INSERT: usize = 1_000;

/// Products reindexed per transaction by [`ensure`].
const REBUILD_BATCH: u64 = 500;

/// Puts a product's current name and description in the index in place of what was there.
/// Call it in the transaction that writes the product.
pub async fn index_product<C: ConnectionTrait>(
    conn: &C,
    stems: &Stems,
    id: i64,
    name: &str,
    description: &str,
) -> Result<(), DbErr> {
    remove_product(conn, id).await?;
    let words = product_words(name, description);
    add_terms(conn, stems, words.iter().map(|(word, _)| word.as_str())).await?;
    let backend = conn.get_database_backend();
    for chunk in words.chunks(ROWS_PER_INSERT) {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO search_postings (word, product_id, weight) VALUES ");
        for (i, (word, in_name)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let weight = if *in_name {
                NAME_WEIGHT
            } else {
                DESCRIPTION_WEIGHT
            };
            sql.push("(")
                .value(word.as_str())
                .push(", ")
                .value(id)
                .push(", ")
                .value(weight)
                .push(")");
        }
        conn.execute_raw(sql.statement()).await?;
    }
    Ok(())
}

/// Takes a product out of the index.
pub async fn remove_product<C: ConnectionTrait>(conn: &C, id: i64) -> Result<(), DbErr> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("DELETE FROM search_postings WHERE product_id = ")
        .value(id);
    conn.execute_raw(sql.statement()).await?;
    Ok(())
}

/// Adds the words the vocabulary lacks, in sorted order (`words` is sorted), so that two
/// transactions adding the same words wait for each other instead of deadlocking.
async fn add_terms<'a, C: ConnectionTrait>(
    conn: &C,
    stems: &Stems,
    words: impl Iterator<Item = &'a str>,
) -> Result<(), DbErr> {
    let words: Vec<&str> = words.collect();
    let backend = conn.get_database_backend();
    for chunk in words.chunks(ROWS_PER_INSERT) {
        let mut sql = Sql::new(backend);
        sql.push(if backend == DbBackend::MySql {
            "INSERT IGNORE INTO search_terms (word, stem) VALUES "
        } else {
            "INSERT INTO search_terms (word, stem) VALUES "
        });
        for (i, word) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .value(*word)
                .push(", ")
                .value(stems.stem(word))
                .push(")");
        }
        if backend != DbBackend::MySql {
            sql.push(" ON CONFLICT (word) DO NOTHING");
        }
        conn.execute_raw(sql.statement()).await?;
    }
    Ok(())
}

/// The language the index's stems were made in, if it was ever built.
async fn built_in(db: &DatabaseConnection) -> Result<Option<String>, DbErr> {
    let row = db
        .query_one_raw(
            Sql::new(db.get_database_backend())
                .push("SELECT language FROM search_index_state WHERE id = 1")
                .take(),
        )
        .await?;
    row.map(|row| row.try_get_by_index::<String>(0)).transpose()
}

/// Builds the index when it was never built (a database from before search) or was built in
/// another language, batch by batch with each batch's products locked, so that a product
/// written meanwhile is indexed either by its own write or by the batch that reads it after.
/// Searches during a rebuild can miss products not reached yet. Returns whether it rebuilt.
pub async fn ensure(db: &DatabaseConnection, language: Language) -> Result<bool, DbErr> {
    if built_in(db).await?.as_deref() == Some(language.name()) {
        return Ok(false);
    }
    tracing::info!(language = language.name(), "building the search index");
    let backend = db.get_database_backend();
    let stems = language.stemmer();
    // Stems of the other language go; words written from now on get the new ones.
    db.execute_raw(Sql::new(backend).push("DELETE FROM search_terms").take())
        .await?;
    let mut after = 0_i64;
    let mut indexed = 0_usize;
    loop {
        let tx = db::begin_write(db).await?;
        let batch: Vec<(i64, String, String)> = product::Entity::find()
            .select_only()
            .column(product::Column::Id)
            .column(product::Column::Name)
            .column(product::Column::Description)
            .filter(product::Column::Id.gt(after))
            .order_by_asc(product::Column::Id)
            .limit(REBUILD_BATCH)
            .lock_exclusive()
            .into_tuple()
            .all(&tx)
            .await?;
        let Some((last, _, _)) = batch.last() else {
            tx.commit().await?;
            break;
        };
        after = *last;
        for (id, name, description) in &batch {
            index_product(&tx, &stems, *id, name, description).await?;
        }
        indexed += batch.len();
        tx.commit().await?;
    }
    let tx = db.begin().await?;
    tx.execute_raw(
        Sql::new(backend)
            .push("DELETE FROM search_index_state WHERE id = 1")
            .take(),
    )
    .await?;
    let mut insert = Sql::new(backend);
    insert
        .push("INSERT INTO search_index_state (id, language) VALUES (1, ")
        .value(language.name())
        .push(")");
    tx.execute_raw(insert.statement()).await?;
    tx.commit().await?;
    tracing::info!(products = indexed, "search index built");
    Ok(true)
}
