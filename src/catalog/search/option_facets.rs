//! The options facet: for each option value, how many products of the result set have an
//! active variant with it that also meets the list's variant filters — the count
//! `?option=Name:Value` added to the same filters would list. One query.

use std::collections::BTreeMap;

use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement, UnionType};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr};
use serde_json::{Map, Value};

use super::query::{Meaning, Narrowing, all_words};
use crate::catalog::variant;
use crate::catalog::variants::options::key;
use crate::db::sql::Sql;

/// `(name, [(value, products)])`, names and values as a variant shows them.
pub type OptionCounts = Vec<(String, Vec<(String, u64)>)>;

/// `SELECT product_id, optionN AS k, options AS shown FROM product_variants WHERE …` for each
/// of the three option columns, joined by `UNION ALL`.
fn option_rows(narrowing: &Narrowing) -> SelectStatement {
    let columns = [
        variant::Column::Option1,
        variant::Column::Option2,
        variant::Column::Option3,
    ];
    let one = |column: variant::Column| {
        Query::select()
            .column(variant::Column::ProductId)
            .expr_as(Expr::col(column), Alias::new("k"))
            .expr_as(Expr::col(variant::Column::Options), Alias::new("shown"))
            .from(variant::Entity)
            .cond_where(narrowing.variants.condition().add(column.ne("")))
            .to_owned()
    };
    let mut select = one(columns[0]);
    for column in &columns[1..] {
        select.union(UnionType::All, one(*column));
    }
    select
}

/// The counts for the result set that `meanings` (if searching) and `narrowing` select.
pub async fn option_counts<C: ConnectionTrait>(
    conn: &C,
    meanings: Option<&[Meaning]>,
    narrowing: &Narrowing,
) -> Result<OptionCounts, DbErr> {
    if meanings.is_some_and(|m| m.iter().all(|m| m.words.is_empty())) {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT x.k, COUNT(DISTINCT x.product_id), MIN(x.shown) FROM (")
        .select(&option_rows(narrowing))
        .push(") x WHERE x.product_id IN (SELECT p.id FROM products p WHERE 1 = 1");
    narrowing.conditions(&mut sql);
    if let Some(meanings) = meanings {
        sql.push(" AND p.id IN (SELECT s.product_id FROM search_postings s WHERE s.word IN ")
            .list(all_words(meanings));
        narrowing.posting_conditions(&mut sql);
        sql.push(")");
    }
    sql.push(") GROUP BY x.k");
    let mut rows = Vec::new();
    for row in conn.query_all_raw(sql.statement()).await? {
        let k: String = row.try_get_by_index(0)?;
        let count: i64 = row.try_get_by_index(1)?;
        let shown: Option<String> = row.try_get_by_index(2)?;
        rows.push((k, u64::try_from(count).unwrap_or(0), shown));
    }
    Ok(group(rows))
}

/// The rows `(key, products, a variant's options as shown)` grouped by option name: names by
/// products first (then by name), values by products first (then by value).
fn group(rows: Vec<(String, u64, Option<String>)>) -> OptionCounts {
    let mut by_name: BTreeMap<String, (String, Vec<(String, u64)>)> = BTreeMap::new();
    for (k, count, shown) in rows {
        let shown: Map<String, Value> = shown
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let Some((name, value)) = shown.iter().find_map(|(name, value)| {
            let value = value.as_str()?;
            (key(name, value) == k).then(|| (name.clone(), value.to_owned()))
        }) else {
            continue;
        };
        let entry = by_name
            .entry(name.to_lowercase())
            .or_insert_with(|| (name, Vec::new()));
        entry.1.push((value, count));
    }
    type Counted = (String, Vec<(String, u64)>, u64);
    let mut list: Vec<Counted> = by_name
        .into_values()
        .map(|(name, mut values)| {
            values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let total = values.iter().map(|(_, n)| n).sum();
            (name, values, total)
        })
        .collect();
    list.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    list.into_iter()
        .map(|(name, values, _)| (name, values))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_option_with_the_shown_spelling() {
        let shirt = Some(r#"{"Size":"M","Colour":"Red"}"#.to_owned());
        let shoe = Some(r#"{"Size":"L"}"#.to_owned());
        let grouped = group(vec![
            ("size\u{1f}m".to_owned(), 3, shirt.clone()),
            ("colour\u{1f}red".to_owned(), 2, shirt),
            ("size\u{1f}l".to_owned(), 4, shoe),
            ("size\u{1f}xl".to_owned(), 1, None),
        ]);
        assert_eq!(
            grouped,
            vec![
                (
                    "Size".to_owned(),
                    vec![("L".to_owned(), 4), ("M".to_owned(), 3)]
                ),
                ("Colour".to_owned(), vec![("Red".to_owned(), 2)]),
            ]
        );
    }
}
