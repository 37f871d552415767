//! Product search on the database every deployment already runs: relevance-ranked, stemmed,
//! tolerant of a misspelt word, with facet counts and suggestions for a prefix — the same
//! results on SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! # The index
//! Two tables, written in the transaction that writes the product ([`index`]): the vocabulary
//! (`search_terms`: each word once, with its stem in the shop's language) and the postings
//! (`search_postings`: which products have which word, weight 2 in the name, 1 only in the
//! description, with the product's `is_active` and `category_id`, so that a search in a
//! category reads one covering index and no product row). A product is findable the moment
//! its creation commits, and gone for shoppers the moment its deactivation does (staff see
//! all).
//!
//! # A query
//! 1. [`query::resolve`] turns each searched word into vocabulary words: itself (exact), words
//!    of the same stem (stemmed) and, for a word that has neither — a misspelling — every word
//!    one edit away (fuzzy: a letter deleted, inserted, replaced, or two swapped). One query of
//!    the vocabulary, and a second only for misspellings.
//! 2. [`query::page`] ranks products with any of those words: more searched words matched
//!    first, then the sum of each word's best match (name above description, exact above
//!    stemmed above fuzzy), then newest — or the order the client asked for. One query returns
//!    the page and the total.
//!
//! Why not each engine's own full-text search: PostgreSQL's `pg_trgm` misses the commonest
//! typo, two letters swapped (`similarity('chiar', 'chair')` is 0.2, under its 0.3 default),
//! MariaDB's FULLTEXT has no typo tolerance at all and ignores words under four letters, and
//! the three rank differently. One index in plain tables ranks the same everywhere, and its
//! queries are B-tree lookups every engine plans well.
//!
//! # Another engine
//! [`SearchBackend`] is the seam for an external engine (OpenSearch, Meilisearch): it answers
//! pages of ids, facet counts and suggestions, and the catalog turns ids into products as it
//! does for its own queries, so the API does not change. The write side stays transactional:
//! such a backend would keep [`index`]'s calls (or replace them by a job enqueued in the same
//! transaction, which the job queue delivers at least once) and feed its engine from them.

pub mod index;
pub mod option_facets;
pub mod query;

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QuerySelect};

use self::query::{Meaning, Narrowing, Order};
use super::category;
use crate::money::Currency;
use crate::text::{self, Language};

/// Most products and most categories a suggestion lists.
pub const SUGGESTIONS: usize = 10;

/// Lower bounds of the price buckets after the first, in whole units of the currency.
const PRICE_BOUNDS: [i64; 10] = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/// Counts for the result set.
#[derive(Debug, Default)]
pub struct Facets {
    /// `(category, products in it or its sub-categories)`, most first.
    pub categories: Vec<(category::Model, u64)>,
    /// `(min, max, count)` in minor units; the last bucket has no max. Empty buckets left out.
    pub price_ranges: Vec<(i64, Option<i64>, u64)>,
    pub in_stock: u64,
    pub count: u64,
    /// Products per option value.
    pub options: option_facets::OptionCounts,
}

/// What a prefix may be completing: `(id, name, slug)` of products and categories.
#[derive(Debug, Default)]
pub struct Suggestions {
    pub products: Vec<(i64, String, String)>,
    pub categories: Vec<(i64, String, String)>,
}

/// What a search engine answers for the catalog (see the module docs).
pub trait SearchBackend {
    /// One page of ids of the products that match `searched` and `narrowing`, and the total.
    fn page<C: ConnectionTrait>(
        &self,
        conn: &C,
        searched: &[String],
        narrowing: &Narrowing,
        order: Order,
        offset: u64,
        limit: u64,
    ) -> impl Future<Output = Result<(u64, Vec<i64>), DbErr>> + Send;

    /// Facet counts of the products that match `searched` (all, when empty) and `narrowing`.
    fn facets<C: ConnectionTrait>(
        &self,
        conn: &C,
        searched: &[String],
        narrowing: &Narrowing,
        currency: Currency,
    ) -> impl Future<Output = Result<Facets, DbErr>> + Send;

    /// Products and categories a shopper who typed `words` (the last one perhaps unfinished)
    /// may be looking for.
    fn suggest<C: ConnectionTrait>(
        &self,
        conn: &C,
        words: &[String],
    ) -> impl Future<Output = Result<Suggestions, DbErr>> + Send;
}

/// Search on the database's own index.
#[derive(Clone, Copy, Debug)]
pub struct DatabaseSearch {
    pub language: Language,
}

impl DatabaseSearch {
    async fn meanings<C: ConnectionTrait>(
        &self,
        conn: &C,
        searched: &[String],
        fuzzy: bool,
        include_inactive: bool,
    ) -> Result<Vec<Meaning>, DbErr> {
        let stems = self.language.stemmer();
        query::resolve(conn, &stems, searched, fuzzy, include_inactive).await
    }
}

impl SearchBackend for DatabaseSearch {
    async fn page<C: ConnectionTrait>(
        &self,
        conn: &C,
        searched: &[String],
        narrowing: &Narrowing,
        order: Order,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<i64>), DbErr> {
        let meanings = self
            .meanings(conn, searched, true, narrowing.include_inactive)
            .await?;
        query::page(conn, &meanings, narrowing, order, offset, limit).await
    }

    async fn facets<C: ConnectionTrait>(
        &self,
        conn: &C,
        searched: &[String],
        narrowing: &Narrowing,
        currency: Currency,
    ) -> Result<Facets, DbErr> {
        let meanings = if searched.is_empty() {
            None
        } else {
            Some(
                self.meanings(conn, searched, true, narrowing.include_inactive)
                    .await?,
            )
        };
        let unit = 10_i64.pow(u32::from(currency.minor_digits()));
        let bounds: Vec<i64> = PRICE_BOUNDS.iter().map(|b| b * unit).collect();
        let counts = query::facet_counts(conn, meanings.as_deref(), narrowing, &bounds).await?;
        let categories = category::Entity::find().all(conn).await?;
        let mut facets = tally(counts, categories, &bounds);
        facets.options = option_facets::option_counts(conn, meanings.as_deref(), narrowing).await?;
        Ok(facets)
    }

    async fn suggest<C: ConnectionTrait>(
        &self,
        conn: &C,
        words: &[String],
    ) -> Result<Suggestions, DbErr> {
        let Some((prefix, words)) = words.split_last() else {
            return Ok(Suggestions::default());
        };
        let before = if words.is_empty() {
            Vec::new()
        } else {
            self.meanings(conn, words, false, false).await?
        };
        let products = query::suggest_products(conn, &before, prefix, SUGGESTIONS).await?;
        let categories = category::Entity::find()
            .select_only()
            .column(category::Column::Id)
            .column(category::Column::Name)
            .column(category::Column::Slug)
            .into_tuple::<(i64, String, String)>()
            .all(conn)
            .await?;
        let mut categories: Vec<(i64, String, String)> = categories
            .into_iter()
            .filter(|(_, name, _)| text::words(name).any(|w| w.starts_with(prefix.as_str())))
            .collect();
        categories.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        categories.truncate(SUGGESTIONS);
        Ok(Suggestions {
            products,
            categories,
        })
    }
}

/// Adds up the grouped counts: each category's count includes its sub-categories'.
fn tally(
    counts: HashMap<(i64, usize, bool), u64>,
    categories: Vec<category::Model>,
    bounds: &[i64],
) -> Facets {
    let parents: HashMap<i64, Option<i64>> =
        categories.iter().map(|c| (c.id, c.parent_id)).collect();
    let mut per_category: HashMap<i64, u64> = HashMap::new();
    let mut per_bucket = vec![0_u64; bounds.len() + 1];
    let mut facets = Facets::default();
    for ((category, bucket, in_stock), count) in counts {
        facets.count += count;
        if in_stock {
            facets.in_stock += count;
        }
        if let Some(slot) = per_bucket.get_mut(bucket) {
            *slot += count;
        }
        // The category and its ancestors (a loop cannot be longer than the tree).
        let mut at = Some(category);
        for _ in 0..=parents.len() {
            let Some(id) = at else { break };
            *per_category.entry(id).or_default() += count;
            at = parents.get(&id).copied().flatten();
        }
    }
    facets.price_ranges = per_bucket
        .into_iter()
        .enumerate()
        .filter(|(_, count)| *count > 0)
        .map(|(i, count)| {
            let min = if i == 0 { 0 } else { bounds[i - 1] };
            (min, bounds.get(i).copied(), count)
        })
        .collect();
    let mut listed: Vec<(category::Model, u64)> = categories
        .into_iter()
        .filter_map(|c| per_category.get(&c.id).map(|n| (c, *n)))
        .collect();
    listed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.name.cmp(&b.0.name)));
    facets.categories = listed;
    facets
}
