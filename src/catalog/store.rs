//! The catalog's queries and writes that several rules share: free slugs and inserts that
//! retry when a parallel insert took the slug, the category tree, a page's images, LIKE escaping,
//! and how a failed write of a category or product reads to the client.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};

use super::{category, product, product_image};
use crate::db;
use crate::http::error::{ApiError, field_error, internal};

/// Which table a slug must be unique in.
#[derive(Clone, Copy)]
pub(super) enum Slugged {
    Category,
    Product,
}

/// `base`, or `base-2`, `base-3`… whichever is free (the unique index still has the last word).
pub(super) async fn free_slug<C: ConnectionTrait>(
    conn: &C,
    table: Slugged,
    base: &str,
) -> Result<String, DbErr> {
    let pattern = LikeExpr::new(format!("{}%", like_escape(base))).escape('\\');
    let taken: HashSet<String> = match table {
        Slugged::Category => category::Entity::find()
            .select_only()
            .column(category::Column::Slug)
            .filter(Expr::col(category::Column::Slug).like(pattern))
            .into_tuple::<String>()
            .all(conn)
            .await?
            .into_iter()
            .collect(),
        Slugged::Product => product::Entity::find()
            .select_only()
            .column(product::Column::Slug)
            .filter(Expr::col(product::Column::Slug).like(pattern))
            .into_tuple::<String>()
            .all(conn)
            .await?
            .into_iter()
            .collect(),
    };
    if !taken.contains(base) {
        return Ok(base.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| format!("{base}-{}", uuid::Uuid::new_v4().simple())))
}

/// Escapes `%`, `_` and `\` so they match themselves in `LIKE … ESCAPE '\'`.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A slug after `taken` was found taken by a parallel insert: the base with a random suffix
/// (a new look at the table could miss the other row under MySQL's repeatable read).
pub(super) fn fresh_slug(base: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{base}-{}", &suffix[..8])
}

/// How often an insert with a generated slug is tried before giving up.
pub(super) const SLUG_ATTEMPTS: usize = 5;

/// Inserts `row` with `slug` set, in a savepoint of `tx`. When the slug was generated
/// (`generated`), a unique violation — a parallel insert took the same slug — is answered by
/// trying a fresh one; a slug the client chose is theirs to fix (400 on `slug`).
pub(super) async fn insert_slugged<A>(
    tx: &sea_orm::DatabaseTransaction,
    mut row: A,
    slug: String,
    generated: bool,
    what: &str,
) -> Result<<A::Entity as EntityTrait>::Model, ApiError>
where
    A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send + Clone + SlugField,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::TransactionTrait;
    let base = slug.clone();
    let mut slug = slug;
    for attempt in 1..=SLUG_ATTEMPTS {
        row.set_slug(slug.clone());
        let savepoint = tx.begin().await?;
        match row.clone().insert(&savepoint).await {
            Ok(model) => {
                savepoint.commit().await?;
                return Ok(model);
            }
            Err(e) if generated && db::is_unique_violation(&e) && attempt < SLUG_ATTEMPTS => {
                savepoint.rollback().await?;
                slug = fresh_slug(&base);
            }
            Err(e) => {
                savepoint.rollback().await?;
                return Err(slug_error(e, what));
            }
        }
    }
    Err(internal("no free slug after several attempts"))
}

/// A row whose slug [`insert_slugged`] can set.
pub(super) trait SlugField {
    fn set_slug(&mut self, slug: String);
}

impl SlugField for category::ActiveModel {
    fn set_slug(&mut self, slug: String) {
        self.slug = Set(slug);
    }
}

impl SlugField for product::ActiveModel {
    fn set_slug(&mut self, slug: String) {
        self.slug = Set(slug);
    }
}

pub(super) fn is_foreign_key_violation(error: &DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(SqlErr::ForeignKeyConstraintViolation(_))
    )
}

/// A failed write of a category or product as the client should see it: a taken slug is a
/// 400 on `slug`; a parent or category deleted by a parallel request after it was checked is a
/// 400 on that field (`parent` for a category, `category` for a product).
pub(super) fn slug_error(error: DbErr, what: &str) -> ApiError {
    if is_foreign_key_violation(&error) {
        let field = if what == "category" {
            "parent"
        } else {
            "category"
        };
        return field_error(field, "The referenced category no longer exists.");
    }
    crate::http::error::unique_field_error(
        error,
        "slug",
        format!("{what} with this slug already exists."),
    )
}

/// `(id, parent)` of every category: the tree is small and read whole.
pub(super) async fn tree<C: ConnectionTrait>(conn: &C) -> Result<Vec<(i64, Option<i64>)>, DbErr> {
    category::Entity::find()
        .select_only()
        .column(category::Column::Id)
        .column(category::Column::ParentId)
        .into_tuple()
        .all(conn)
        .await
}

/// Images of many products in one query, primary first.
pub(super) async fn images_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<product_image::Model>>, DbErr> {
    let mut by_product: HashMap<i64, Vec<product_image::Model>> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_product);
    }
    let rows = product_image::Entity::find()
        .filter(product_image::Column::ProductId.is_in(ids.iter().copied()))
        .order_by_desc(product_image::Column::IsPrimary)
        .order_by_asc(product_image::Column::Id)
        .all(conn)
        .await?;
    for row in rows {
        by_product.entry(row.product_id).or_default().push(row);
    }
    Ok(by_product)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("50%_off\\"), "50\\%\\_off\\\\");
    }
}
