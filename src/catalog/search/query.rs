//! The read side of search on the database's own index: which vocabulary words each searched
//! word stands for, the ranked page, facet counts, and suggestions for a prefix.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sea_orm::{ConnectionTrait, DbErr};

use super::index::NAME_WEIGHT;
use crate::catalog::variants::VariantFilter;
use crate::db::sql::{Sql, integer};
use crate::text::{Stems, one_edit_away};

/// Most words of a query looked up as misspellings (each costs a few hundred spellings).
const MAX_FUZZY_WORDS: usize = 4;

/// How a searched word matched a word of the index, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Quality {
    Exact = 3,
    Stemmed = 2,
    Fuzzy = 1,
}

/// The vocabulary words one searched word stands for, each with how well it matches.
#[derive(Debug, Default)]
pub struct Meaning {
    pub words: Vec<(String, Quality)>,
}

impl Meaning {
    fn of(&self, quality: Quality) -> impl Iterator<Item = &str> {
        self.words
            .iter()
            .filter(move |(_, q)| *q == quality)
            .map(|(w, _)| w.as_str())
    }
}

/// Looks up what each searched word stands for: the word itself, words of the same stem and —
/// only for a word that has neither, as a misspelling would — words one edit away.
pub async fn resolve<C: ConnectionTrait>(
    conn: &C,
    stems: &Stems,
    searched: &[String],
    fuzzy: bool,
    include_inactive: bool,
) -> Result<Vec<Meaning>, DbErr> {
    let backend = conn.get_database_backend();
    let stemmed: Vec<String> = searched.iter().map(|w| stems.stem(w)).collect();
    let mut sql = Sql::new(backend);
    sql.push("SELECT word, stem FROM search_terms t WHERE (word IN ")
        .list(searched.iter().map(String::as_str))
        .push(" OR stem IN ")
        .list(stemmed.iter().map(String::as_str))
        .push(")");
    in_use(&mut sql, include_inactive);
    let mut meanings: Vec<Meaning> = searched.iter().map(|_| Meaning::default()).collect();
    for row in conn.query_all_raw(sql.statement()).await? {
        let word: String = row.try_get_by_index(0)?;
        let stem: String = row.try_get_by_index(1)?;
        for (i, meaning) in meanings.iter_mut().enumerate() {
            if word == searched[i] {
                meaning.words.push((word.clone(), Quality::Exact));
            } else if stem == stemmed[i] {
                meaning.words.push((word.clone(), Quality::Stemmed));
            }
        }
    }
    if !fuzzy {
        return Ok(meanings);
    }
    // Misspellings: words with no match at all, looked up by every spelling one edit away
    // from the word or its stem.
    let unknown: Vec<(usize, BTreeSet<String>)> = meanings
        .iter()
        .enumerate()
        .filter(|(i, meaning)| {
            meaning.words.is_empty() && searched[*i].chars().all(char::is_alphanumeric)
        })
        .take(MAX_FUZZY_WORDS)
        .map(|(i, _)| {
            let mut near = one_edit_away(&searched[i]);
            near.extend(one_edit_away(&stemmed[i]));
            (i, near)
        })
        .filter(|(_, near)| !near.is_empty())
        .collect();
    if unknown.is_empty() {
        return Ok(meanings);
    }
    let all: BTreeSet<&str> = unknown
        .iter()
        .flat_map(|(_, near)| near.iter().map(String::as_str))
        .collect();
    let mut sql = Sql::new(backend);
    sql.push("SELECT word FROM search_terms t WHERE word IN ")
        .list(all);
    in_use(&mut sql, include_inactive);
    for row in conn.query_all_raw(sql.statement()).await? {
        let word: String = row.try_get_by_index(0)?;
        for (i, near) in &unknown {
            if near.contains(&word) {
                meanings[*i].words.push((word.clone(), Quality::Fuzzy));
            }
        }
    }
    Ok(meanings)
}

/// ` AND` the vocabulary word `t` is in some product (an active one unless `include_inactive`):
/// the vocabulary keeps words no product has any more, which must neither match nor stop a
/// misspelling of another word from being looked up.
fn in_use(sql: &mut Sql, include_inactive: bool) {
    sql.push(" AND EXISTS (SELECT 1 FROM search_postings s WHERE s.word = t.word");
    if !include_inactive {
        sql.push(" AND s.is_active = ").value(true);
    }
    sql.push(")");
}

/// The filters besides the words, as the search queries apply them.
#[derive(Debug, Default)]
pub struct Narrowing {
    pub include_inactive: bool,
    /// A category and its sub-categories.
    pub categories: Option<Vec<i64>>,
    /// What an active variant of the product must have (options, SKU, price, stock).
    pub variants: VariantFilter,
    /// Only products without stock (`in_stock=false`).
    pub out_of_stock: bool,
}

impl Narrowing {
    /// Whether it filters on what only the product row has (its variants, its stock).
    fn needs_products(&self) -> bool {
        !self.variants.is_empty() || self.out_of_stock
    }

    /// ` AND …` conditions on what every posting `s` carries: active, category.
    pub(super) fn posting_conditions(&self, sql: &mut Sql) {
        self.carried_conditions(sql, "s");
    }

    /// ` AND …` conditions on products `p`: all of them.
    pub(super) fn conditions(&self, sql: &mut Sql) {
        self.carried_conditions(sql, "p");
        self.product_conditions(sql);
    }

    /// ` AND …` conditions on the active flag and category, which products and postings both
    /// have, of `table`.
    fn carried_conditions(&self, sql: &mut Sql, table: &str) {
        if !self.include_inactive {
            sql.push(&format!(" AND {table}.is_active = ")).value(true);
        }
        if let Some(categories) = &self.categories {
            sql.push(&format!(" AND {table}.category_id IN "))
                .list(categories.iter().copied());
        }
    }

    /// ` AND …` conditions on what only products `p` have: variants, stock.
    fn product_conditions(&self, sql: &mut Sql) {
        if !self.variants.is_empty() {
            sql.push(" AND p.id IN (")
                .select(&self.variants.products())
                .push(")");
        }
        if self.out_of_stock {
            sql.push(" AND p.stock = 0");
        }
    }
}

/// Per product, the best match of searched word `i` as `s{i}`: 6, 5, 4 for an exact, stemmed,
/// fuzzy match in the name, 3, 2, 1 in the description only, 0 for none.
fn scores(sql: &mut Sql, meanings: &[Meaning]) {
    for (i, meaning) in meanings.iter().enumerate() {
        if meaning.words.is_empty() {
            // A word that stands for nothing scores nothing (a CASE needs a WHEN).
            sql.push(&format!(", 0 AS s{i}"));
            continue;
        }
        sql.push(", MAX(CASE");
        for quality in [Quality::Exact, Quality::Stemmed, Quality::Fuzzy] {
            let words: Vec<&str> = meaning.of(quality).collect();
            if words.is_empty() {
                continue;
            }
            sql.push(" WHEN s.word IN ")
                .list(words)
                .push(&format!(" THEN 3 * s.weight - {}", 3 - quality as i32));
        }
        sql.push(&format!(" ELSE 0 END) AS s{i}"));
    }
}

/// Every vocabulary word any searched word stands for.
pub(super) fn all_words(meanings: &[Meaning]) -> BTreeSet<&str> {
    meanings
        .iter()
        .flat_map(|m| m.words.iter().map(|(w, _)| w.as_str()))
        .collect()
}

/// ` FROM` the postings of every word the searched words stand for, narrowed: by what the
/// postings carry (active, category) from the covering index alone, and joined with their
/// products only when the narrowing or the order needs a product's column (`with_products`).
fn matching(sql: &mut Sql, meanings: &[Meaning], narrowing: &Narrowing, with_products: bool) {
    sql.push(" FROM search_postings s");
    let all = all_words(meanings);
    if with_products {
        sql.push(" JOIN products p ON p.id = s.product_id");
    }
    sql.push(" WHERE s.word IN ").list(all);
    narrowing.posting_conditions(sql);
    if with_products {
        narrowing.product_conditions(sql);
    }
}

/// How the page is ordered: by relevance, or by a column the client asked for.
pub enum Order {
    Relevance,
    Column {
        column: &'static str,
        descending: bool,
    },
}

/// One page of the products matching any searched word and the narrowing, and how many match
/// in all. By relevance: products matching more of the words first, then by the sum of each
/// word's best match (name above description, exact above stemmed above fuzzy), then newest.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    meanings: &[Meaning],
    narrowing: &Narrowing,
    order: Order,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<i64>), DbErr> {
    if meanings.iter().all(|m| m.words.is_empty()) {
        return Ok((0, Vec::new()));
    }
    let backend = conn.get_database_backend();
    let column = match order {
        Order::Column { column, .. } => Some(column),
        Order::Relevance => None,
    };
    let with_products = column.is_some() || narrowing.needs_products();
    let mut sql = Sql::new(backend);
    // One row per product with its scores and the total, then the page of them.
    sql.push("SELECT id, total FROM (SELECT s.product_id AS id, COUNT(*) OVER () AS total");
    if let Some(column) = column {
        sql.push(&format!(", p.{column} AS sort_key"));
    }
    scores(&mut sql, meanings);
    matching(&mut sql, meanings, narrowing, with_products);
    sql.push(" GROUP BY s.product_id");
    if let Some(column) = column {
        sql.push(&format!(", p.{column}"));
    }
    sql.push(") r");
    match order {
        Order::Relevance => {
            let words = (0..meanings.len())
                .map(|i| format!("CASE WHEN s{i} > 0 THEN 100 ELSE 0 END + s{i}"))
                .collect::<Vec<_>>()
                .join(" + ");
            // Ties: newest first (ids grow with creation).
            sql.push(&format!(" ORDER BY {words} DESC, id DESC"));
        }
        Order::Column { descending, .. } => {
            let direction = if descending { "DESC" } else { "ASC" };
            sql.push(&format!(" ORDER BY sort_key {direction}, id {direction}"));
        }
    }
    // Pagination keeps both within a signed 64-bit number; saturate rather than wrap anyway.
    sql.push(" LIMIT ")
        .value(i64::try_from(limit).unwrap_or(i64::MAX))
        .push(" OFFSET ")
        .value(i64::try_from(offset).unwrap_or(i64::MAX));
    let rows = conn.query_all_raw(sql.statement()).await?;
    if let Some(first) = rows.first() {
        let total: i64 = first.try_get_by_index(1)?;
        let ids = rows
            .iter()
            .map(|row| row.try_get_by_index::<i64>(0))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((u64::try_from(total).unwrap_or(0), ids));
    }
    // A page past the end still needs the count (for its error or its links).
    let mut sql = Sql::new(backend);
    sql.push("SELECT COUNT(DISTINCT s.product_id)");
    matching(&mut sql, meanings, narrowing, narrowing.needs_products());
    let total: i64 = match conn.query_one_raw(sql.statement()).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok((u64::try_from(total).unwrap_or(0), Vec::new()))
}

/// Counts of the result set by category (the products directly in it), price bucket and
/// whether in stock, in one query: `(category_id, bucket, in_stock) → count`.
pub async fn facet_counts<C: ConnectionTrait>(
    conn: &C,
    meanings: Option<&[Meaning]>,
    narrowing: &Narrowing,
    bounds: &[i64],
) -> Result<HashMap<(i64, usize, bool), u64>, DbErr> {
    let mut counts = HashMap::new();
    if meanings.is_some_and(|m| m.iter().all(|m| m.words.is_empty())) {
        return Ok(counts);
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT p.category_id, CASE");
    for (i, bound) in bounds.iter().enumerate() {
        sql.push(" WHEN p.price < ")
            .value(*bound)
            .push(&format!(" THEN {i}"));
    }
    sql.push(&format!(
        " ELSE {} END, CASE WHEN p.stock > 0 THEN 1 ELSE 0 END, COUNT(*)",
        bounds.len()
    ));
    match meanings {
        // The matching products from the postings (active, category: from the index), then
        // their rows.
        Some(meanings) => {
            sql.push(" FROM (SELECT DISTINCT s.product_id FROM search_postings s WHERE s.word IN ")
                .list(all_words(meanings));
            narrowing.posting_conditions(&mut sql);
            sql.push(") m JOIN products p ON p.id = m.product_id WHERE 1 = 1");
            narrowing.product_conditions(&mut sql);
        }
        None => {
            sql.push(" FROM products p WHERE 1 = 1");
            narrowing.conditions(&mut sql);
        }
    }
    sql.push(" GROUP BY 1, 2, 3");
    for row in conn.query_all_raw(sql.statement()).await? {
        let category: i64 = row.try_get_by_index(0)?;
        let bucket = integer(&row, 1)?;
        let in_stock = integer(&row, 2)?;
        let count: i64 = row.try_get_by_index(3)?;
        counts.insert(
            (
                category,
                usize::try_from(bucket).unwrap_or(0),
                in_stock == 1,
            ),
            u64::try_from(count).unwrap_or(0),
        );
    }
    Ok(counts)
}

/// Up to `limit` active products with a word in their name that starts with `prefix`, and
/// that also have every one of `before` (the words typed before it, as [`resolve`]d): `(id,
/// name, slug)`, words nearest the prefix first.
pub async fn suggest_products<C: ConnectionTrait>(
    conn: &C,
    before: &[Meaning],
    prefix: &str,
    limit: usize,
) -> Result<Vec<(i64, String, String)>, DbErr> {
    if before.iter().any(|m| m.words.is_empty()) {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT p.id, p.name, p.slug FROM search_postings s JOIN products p ON p.id = s.product_id WHERE s.weight = ")
        .value(NAME_WEIGHT)
        .push(" AND s.word >= ")
        .value(prefix)
        .push(" AND s.word < ")
        .value(format!("{prefix}\u{10FFFF}"))
        .push(" AND p.is_active = ")
        .value(true);
    for meaning in before {
        sql.push(" AND EXISTS (SELECT 1 FROM search_postings t WHERE t.product_id = s.product_id AND t.word IN ")
            .list(meaning.words.iter().map(|(w, _)| w.as_str()))
            .push(")");
    }
    // A product whose name has several words with the prefix comes once per word.
    sql.push(" ORDER BY s.word, s.product_id LIMIT ")
        .value(i64::try_from(limit.saturating_mul(4)).unwrap_or(i64::MAX));
    let mut seen = BTreeMap::new();
    let mut found = Vec::new();
    for row in conn.query_all_raw(sql.statement()).await? {
        let id: i64 = row.try_get_by_index(0)?;
        if seen.insert(id, ()).is_none() && found.len() < limit {
            found.push((id, row.try_get_by_index(1)?, row.try_get_by_index(2)?));
        }
    }
    Ok(found)
}
