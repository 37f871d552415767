//! Category rules: the tree (no loops, even under parallel re-parentings), slugs, deletion only
//! of empty categories; every write bumps the catalog version in its transaction.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::views::CategoryInput;
use super::{category, product};
use crate::cache::{Change, ResponseCache};
use crate::db;
use crate::http::error::{ApiError, conflict, field_error, not_found};
use crate::time;

use super::store::{Slugged, free_slug, insert_slugged, slug_error, tree};
use super::tree::{descendants, missing_category};

/// Lower-case ASCII words joined by hyphens, like Django's `slugify`.
pub fn slugify(text: &str, max: usize) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if (c.is_whitespace() || c == '-' || c == '_')
            && !slug.ends_with('-')
            && !slug.is_empty()
        {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(max).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "item".to_owned()
    } else {
        slug
    }
}

/// Categories ordered by name.
pub async fn list_categories(
    db: &DatabaseConnection,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<category::Model>), DbErr> {
    db::page(
        db,
        category::Entity::find(),
        |q| {
            q.order_by_asc(category::Column::Name)
                .order_by_asc(category::Column::Id)
        },
        offset,
        limit,
    )
    .await
}

/// One category.
pub async fn get_category<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<category::Model, ApiError> {
    category::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(not_found)
}

async fn check_parent<C: ConnectionTrait>(
    conn: &C,
    id: Option<i64>,
    parent: Option<i64>,
) -> Result<(), ApiError> {
    let Some(parent) = parent else {
        return Ok(());
    };
    let tree = tree(conn).await?;
    if !tree.iter().any(|(c, _)| *c == parent) {
        return Err(missing_category("parent", parent));
    }
    if id.is_some_and(|id| descendants(&tree, id).contains(&parent)) {
        return Err(field_error(
            "parent",
            "A category cannot be placed under itself or one of its descendants.",
        ));
    }
    Ok(())
}

/// Creates a category; the slug comes from the name unless staff gave one.
pub async fn create_category(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    input: CategoryInput,
) -> Result<category::Model, ApiError> {
    let name = input
        .name
        .ok_or_else(|| field_error("name", "This field is required."))?;
    let tx = db::begin_write(db).await?;
    let parent = input.parent.flatten();
    check_parent(&tx, None, parent).await?;
    let generated = input.slug.is_none();
    let slug = match input.slug {
        Some(slug) => slug,
        None => free_slug(&tx, Slugged::Category, &slugify(&name, 123)).await?,
    };
    let now = time::now();
    let row = category::ActiveModel {
        name: Set(name),
        parent_id: Set(parent),
        description: Set(input.description.unwrap_or_default()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let row = insert_slugged(&tx, row, slug, generated, "category").await?;
    cache.commit(tx, categories_changed()).await?;
    Ok(row)
}

/// The scope of everything that shows categories: their own endpoints, and every product (its
/// category's name) and product list (the tree behind the `category` filter).
pub const CATEGORIES_SCOPE: &str = "catalog:categories";

fn categories_changed() -> Change {
    let mut change = Change::new();
    change.scope(CATEGORIES_SCOPE);
    change
}

/// The lock every change of the category tree's shape takes, so that two re-parentings that
/// would each be fine alone cannot together close a loop.
const TREE_LOCK: &str = "catalog:category-tree";

/// Changes a category; a parent that would make a cycle is refused.
pub async fn update_category(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
    input: CategoryInput,
) -> Result<category::Model, ApiError> {
    let tx = if input.parent.is_some() {
        db::begin_exclusive(db, TREE_LOCK).await?
    } else {
        db::begin_write(db).await?
    };
    let current = get_category(&tx, id).await?;
    if let Some(parent) = input.parent {
        check_parent(&tx, Some(id), parent).await?;
    }
    let mut row: category::ActiveModel = current.into();
    db::set_given(&mut row.name, input.name);
    db::set_given(&mut row.slug, input.slug);
    db::set_given(&mut row.parent_id, input.parent);
    db::set_given(&mut row.description, input.description);
    row.updated_at = Set(time::now());
    let row = row
        .update(&tx)
        .await
        .map_err(|e| slug_error(e, "category"))?;
    cache.commit(tx, categories_changed()).await?;
    Ok(row)
}

/// Deletes a category that has neither products nor sub-categories (409 otherwise).
pub async fn delete_category(
    db: &DatabaseConnection,
    cache: &ResponseCache,
    id: i64,
) -> Result<(), ApiError> {
    let tx = db::begin_write(db).await?;
    get_category(&tx, id).await?;
    let products = product::Entity::find()
        .filter(product::Column::CategoryId.eq(id))
        .count(&tx)
        .await?;
    let children = category::Entity::find()
        .filter(category::Column::ParentId.eq(id))
        .count(&tx)
        .await?;
    if products > 0 || children > 0 {
        return Err(conflict(format!(
            "This category still has {products} product(s) and {children} sub-categorie(s); move or delete them first."
        )));
    }
    let deleted = category::Entity::delete_by_id(id).exec(&tx).await;
    match deleted {
        // A product or child added in between: the foreign key refuses.
        Err(e) if crate::db::is_foreign_key_violation(&e) => {
            return Err(conflict(
                "This category still has products or sub-categories.",
            ));
        }
        other => {
            other?;
        }
    }
    cache.commit(tx, categories_changed()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_plain_lower_case_words() {
        assert_eq!(slugify("Red Running Shoes", 50), "red-running-shoes");
        assert_eq!(slugify("  Café & Crème  ", 50), "caf-crme");
        assert_eq!(slugify("!!!", 50), "item");
        assert_eq!(slugify("a very long name indeed", 6), "a-very");
    }
}
