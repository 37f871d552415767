//! The write side of search: a product's words go into the index in the transaction that
//! writes the product, and the whole index is rebuilt when the stemming language changes.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::product;
use crate::db::{self, sql::Sql, sql::integer};
use crate::text::{Language, Stems, product_words};

/// Weight of a word in a product's name; one only in its description weighs 1.
pub const NAME_WEIGHT: i16 = 2;
pub const DESCRIPTION_WEIGHT: i16 = 1;

/// Rows written or words looked up by one statement (well under every engine's limit of values).
const ROWS_PER_STATEMENT: usize = 1_000;

/// Products reindexed per transaction by [`ensure`].
const REBUILD_BATCH: u64 = 500;

/// Adds to the vocabulary the words a product with this name and description is indexed
/// under that it lacks. Call it before the transaction that writes the product: the words go
/// in outside any transaction, so that products written in parallel with the same new words
/// never wait on each other's uncommitted words (a deadlock on MySQL) and SQLite's one write
/// lock is not already held by the product's transaction. A word a failed write leaves behind
/// is harmless: queries only use words some product has.
pub async fn add_words(
    db: &DatabaseConnection,
    stems: &Stems,
    name: &str,
    description: &str,
) -> Result<(), DbErr> {
    let words: BTreeSet<String> = product_words(name, description)
        .into_iter()
        .map(|(word, _)| word)
        .collect();
    add_terms(db, stems, &words, false).await
}

/// Adds `words` to the vocabulary; with `restem`, gives the ones already there with another
/// stem their stem in `stems`' language too.
async fn add_terms(
    db: &DatabaseConnection,
    stems: &Stems,
    words: &BTreeSet<String>,
    restem: bool,
) -> Result<(), DbErr> {
    if words.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    // Words already there with the stem they should have need nothing.
    let mut known = BTreeSet::new();
    let listed: Vec<&String> = words.iter().collect();
    for chunk in listed.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(backend);
        sql.push("SELECT word, stem FROM search_terms WHERE word IN ")
            .list(chunk.iter().map(|w| w.as_str()));
        for row in db.query_all_raw(sql.statement()).await? {
            let word: String = row.try_get_by_index(0)?;
            let stem: String = row.try_get_by_index(1)?;
            if !restem || stems.stem(&word) == stem {
                known.insert(word);
            }
        }
    }
    let new: Vec<&String> = words.difference(&known).collect();
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        // Many at once; should two such statements deadlock (MySQL can, over each other's
        // duplicates), one word a statement, which cannot.
        match db
            .execute_raw(insert_terms(backend, stems, chunk, restem))
            .await
        {
            Ok(_) => {}
            Err(e) if chunk.len() > 1 && db::is_contention(&e) => {
                for word in chunk {
                    db.execute_raw(insert_terms(backend, stems, &[word], restem))
                        .await?;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Inserts words into the vocabulary unless there.
fn insert_terms(
    backend: DbBackend,
    stems: &Stems,
    words: &[&String],
    restem: bool,
) -> sea_orm::Statement {
    let mut sql = Sql::new(backend);
    sql.push(if backend == DbBackend::MySql && !restem {
        "INSERT IGNORE INTO search_terms (word, stem) VALUES "
    } else {
        "INSERT INTO search_terms (word, stem) VALUES "
    });
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .value(word.as_str())
            .push(", ")
            .value(stems.stem(word))
            .push(")");
    }
    match (backend, restem) {
        (DbBackend::MySql, false) => {}
        (DbBackend::MySql, true) => {
            sql.push(" ON DUPLICATE KEY UPDATE stem = VALUES(stem)");
        }
        (_, false) => {
            sql.push(" ON CONFLICT (word) DO NOTHING");
        }
        (_, true) => {
            sql.push(" ON CONFLICT (word) DO UPDATE SET stem = excluded.stem");
        }
    }
    sql.statement()
}

/// What the index keeps of a product: its words come from `name` and `description`; every
/// posting also carries `is_active` and `category_id`.
pub struct Indexed<'a> {
    pub id: i64,
    pub name: &'a str,
    pub description: &'a str,
    /// Shown to shoppers: active, with an active variant.
    pub is_active: bool,
    pub category_id: i64,
}

/// One posting's columns besides its key.
#[derive(PartialEq, Eq)]
struct Posting {
    weight: i16,
    is_active: bool,
    category_id: i64,
}

/// Makes a product's postings match it: words it no longer has go, new ones come, the rest
/// are rewritten where their weight, `is_active` or `category_id` changed — each row by its
/// primary key, so that no gap of the index is locked. Call it in the transaction that writes
/// the product, with the product's row locked (or just inserted: `fresh`).
pub async fn index_product<C: ConnectionTrait>(
    conn: &C,
    product: Indexed<'_>,
    fresh: bool,
) -> Result<(), DbErr> {
    index_products(conn, &[product], fresh).await
}

/// [`index_product`] for many products at once: one read of what they had, and their new
/// postings in statements of many rows.
pub async fn index_products<C: ConnectionTrait>(
    conn: &C,
    products: &[Indexed<'_>],
    fresh: bool,
) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let mut had: BTreeMap<(i64, String), Posting> = BTreeMap::new();
    if !fresh && !products.is_empty() {
        let mut sql = Sql::new(backend);
        sql.push("SELECT product_id, word, weight, is_active, category_id FROM search_postings WHERE product_id IN ")
            .list(products.iter().map(|p| p.id));
        for row in conn.query_all_raw(sql.statement()).await? {
            had.insert(
                (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
                Posting {
                    weight: i16::try_from(integer(&row, 2)?)
                        .map_err(|e| DbErr::Custom(format!("posting weight: {e}")))?,
                    is_active: row.try_get_by_index(3)?,
                    category_id: row.try_get_by_index(4)?,
                },
            );
        }
    }
    let mut wanted: BTreeMap<(i64, String), Posting> = BTreeMap::new();
    for product in products {
        for (word, in_name) in product_words(product.name, product.description) {
            let weight = if in_name {
                NAME_WEIGHT
            } else {
                DESCRIPTION_WEIGHT
            };
            let posting = Posting {
                weight,
                is_active: product.is_active,
                category_id: product.category_id,
            };
            wanted.insert((product.id, word), posting);
        }
    }
    for (id, word) in had.keys().filter(|key| !wanted.contains_key(*key)) {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM search_postings WHERE word = ")
            .value(word.as_str())
            .push(" AND product_id = ")
            .value(*id);
        conn.execute_raw(sql.statement()).await?;
    }
    for (key, posting) in &wanted {
        if had.get(key).is_some_and(|old| old != posting) {
            let (id, word) = key;
            let mut sql = Sql::new(backend);
            sql.push("UPDATE search_postings SET weight = ")
                .value(posting.weight)
                .push(", is_active = ")
                .value(posting.is_active)
                .push(", category_id = ")
                .value(posting.category_id)
                .push(" WHERE word = ")
                .value(word.as_str())
                .push(" AND product_id = ")
                .value(*id);
            conn.execute_raw(sql.statement()).await?;
        }
    }
    let added: Vec<(&(i64, String), &Posting)> = wanted
        .iter()
        .filter(|(key, _)| !had.contains_key(*key))
        .collect();
    for chunk in added.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(backend);
        sql.push(
            "INSERT INTO search_postings (word, product_id, weight, is_active, category_id) VALUES ",
        );
        for (i, ((id, word), posting)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .value(word.as_str())
                .push(", ")
                .value(*id)
                .push(", ")
                .value(posting.weight)
                .push(", ")
                .value(posting.is_active)
                .push(", ")
                .value(posting.category_id)
                .push(")");
        }
        conn.execute_raw(sql.statement()).await?;
    }
    Ok(())
}

/// Takes a product out of the index (in the transaction that deletes it).
/// Call it with the product's row locked; its postings go by primary key (a range delete by
/// product would lock a gap on MySQL).
pub async fn remove_product<C: ConnectionTrait>(conn: &C, id: i64) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("SELECT word FROM search_postings WHERE product_id = ")
        .value(id);
    let words = conn
        .query_all_raw(sql.statement())
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    for chunk in words.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(backend);
        sql.push("DELETE FROM search_postings WHERE product_id = ")
            .value(id)
            .push(" AND word IN ")
            .list(chunk.iter().map(String::as_str));
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
/// Searches during a rebuild can miss products not reached yet. Run it under the migration
/// lock (`db::migrate_then`), so that of processes starting at once one builds and the others
/// find it built. Returns whether it rebuilt.
pub async fn ensure(db: &DatabaseConnection, language: Language) -> Result<bool, DbErr> {
    if built_in(db).await?.as_deref() == Some(language.name()) {
        return Ok(false);
    }
    tracing::info!(language = language.name(), "building the search index");
    let backend = db.get_database_backend();
    let stems = language.stemmer();
    let mut after = 0_i64;
    let mut indexed = 0_usize;
    loop {
        let next = || {
            product::Entity::find()
                .select_only()
                .column(product::Column::Id)
                .column(product::Column::Name)
                .column(product::Column::Description)
                .column(product::Column::IsActive)
                .column(product::Column::CategoryId)
                .column(product::Column::ActiveVariants)
                .filter(product::Column::Id.gt(after))
                .order_by_asc(product::Column::Id)
                .limit(REBUILD_BATCH)
        };
        // The words first, outside the transaction (see `add_words`).
        let preview: Vec<(i64, String, String, bool, i64, i64)> =
            next().into_tuple().all(db).await?;
        if preview.is_empty() {
            break;
        }
        // Every word of the batch, with its stem in this language (a word already there from
        // another language gets the new stem).
        let words: BTreeSet<String> = preview
            .iter()
            .flat_map(|(_, name, description, ..)| product_words(name, description))
            .map(|(word, _)| word)
            .collect();
        add_terms(db, &stems, &words, true).await?;
        let tx = db::begin_write(db).await?;
        let batch: Vec<(i64, String, String, bool, i64, i64)> =
            next().lock_exclusive().into_tuple().all(&tx).await?;
        let Some((last, ..)) = batch.last() else {
            tx.commit().await?;
            break;
        };
        after = *last;
        // A product renamed since the preview added its own words before its write.
        let products: Vec<Indexed> = batch
            .iter()
            .map(
                |(id, name, description, is_active, category_id, variants)| Indexed {
                    id: *id,
                    name,
                    description,
                    // Shoppers see a product with an active variant only.
                    is_active: *is_active && *variants > 0,
                    category_id: *category_id,
                },
            )
            .collect();
        index_products(&tx, &products, false).await?;
        indexed += batch.len();
        tx.commit().await?;
    }
    // The row is there already when the index was built in another language.
    let mut record = Sql::new(backend);
    record
        .push("INSERT INTO search_index_state (id, language) VALUES (1, ")
        .value(language.name())
        .push(if backend == DbBackend::MySql {
            ") ON DUPLICATE KEY UPDATE language = VALUES(language)"
        } else {
            ") ON CONFLICT (id) DO UPDATE SET language = excluded.language"
        });
    db.execute_raw(record.statement()).await?;
    tracing::info!(products = indexed, "search index built");
    Ok(true)
}
